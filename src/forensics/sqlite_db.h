// sqlite_db.h - the few SQLite handles forensic replay needs, owned (RAII over the C API):
// a database, prepared statements with positional binds, errors as exceptions that name the
// statement.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace stepseal::forensics {

class DbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Stmt;

class Db {
 public:
  // PATH ":memory:" for a database of this process only. `create`: made if missing. Throws DbError.
  Db(const std::string& path, bool create, bool readonly = false);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(std::string_view sql);  // one or more statements without results
  Stmt prepare(std::string_view sql);
  int64_t last_rowid() const;
  sqlite3* raw() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt();
  Stmt(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Binds are 1-based; an empty optional or string binds NULL where noted.
  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, std::string_view v);  // text (never NULL)
  Stmt& bind_null(int i);
  Stmt& bind_opt(int i, const std::string& v);  // NULL if empty
  bool step();  // true: a row is ready; false: done. Throws DbError.
  void run();   // step() to the end, then reset for another use
  void reset();
  int64_t integer(int col) const;
  std::string text(int col) const;  // "" for NULL
  bool is_null(int col) const;
  int columns() const;
  std::string column_name(int col) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* st_ = nullptr;
  std::string sql_;
};

// Whether PATH starts with SQLite's magic ("SQLite format 3\0").
bool is_sqlite_file(const std::string& path);

}  // namespace stepseal::forensics
