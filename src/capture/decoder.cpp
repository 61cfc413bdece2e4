#include "capture/decoder.h"

#include <sys/stat.h>

#include <cstring>
#include <vector>

namespace stepseal {

static_assert(sizeof(ss_event) == 160, "ss_event layout changed: update docs and decoder");
static_assert(offsetof(ss_event, args) == 32);
static_assert(offsetof(ss_event, ino) == 80);
static_assert(offsetof(ss_event, blob_len) == 140);
static_assert(offsetof(ss_event, step) == 158);

std::string_view kind_name(Kind k) {
  static constexpr std::string_view names[] = {
#define SS_KIND_NAME(name, json) json,
      SS_KINDS(SS_KIND_NAME)
#undef SS_KIND_NAME
  };
  auto i = static_cast<size_t>(k);
  return i < std::size(names) ? names[i] : "unknown";
}

std::string join_path(const std::string& dir, const std::string& arg) {
  std::string full;
  if (!arg.empty() && arg[0] == '/')
    full = arg;
  else if (arg.empty())
    full = dir;
  else
    full = dir + "/" + arg;
  // Lexical normalisation: collapse "//", drop ".", resolve ".." against what precedes it.
  std::vector<std::string_view> parts;
  std::string_view s = full;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find('/', i);
    if (j == std::string_view::npos) j = s.size();
    std::string_view c = s.substr(i, j - i);
    if (c.empty() || c == ".") {
    } else if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else {
      parts.push_back(c);
    }
    i = j + 1;
  }
  std::string out;
  for (auto c : parts) {
    out += '/';
    out += c;
  }
  return out.empty() ? "/" : out;
}

std::string render_path(std::string_view blob, uint8_t fl, uint32_t mode, uint64_t ino) {
  std::vector<std::string_view> comps;
  size_t i = 0;
  while (i < blob.size()) {
    size_t j = blob.find('\0', i);
    if (j == std::string_view::npos) j = blob.size();
    comps.emplace_back(blob.substr(i, j - i));
    i = j + 1;
  }
  if (fl & SS_BF_PSEUDO) {
    // The leaf is the root of an internal mount: render as the kernel's d_path() does.
    std::string_view name = comps.empty() ? std::string_view{} : comps.back();
    // sockfs names its dentries after the protocol ("UDP"): the inode type decides first
    if (S_ISFIFO(mode)) return "pipe:[" + std::to_string(ino) + "]";
    if (S_ISSOCK(mode)) return "socket:[" + std::to_string(ino) + "]";
    if (name.empty()) {
      if (mode == 0) return "pseudo:[unknown]";  // no inode was sent for this object
      return "anon_inode:[" + std::to_string(ino) + "]";
    }
    if (name.front() == '[') return "anon_inode:" + std::string(name);
    // a disconnected dentry (a file opened by handle whose directory entry is not cached): the
    // kernel has no path for it, and neither has stepseal
    if (fl & SS_BF_DISCONNECTED) return "disconnected:[" + std::to_string(ino) + "]";
    return "/" + std::string(name) + " (deleted)";
  }
  std::string out;
  for (auto it = comps.rbegin(); it != comps.rend(); ++it) {
    if (it->empty() || *it == "/") continue;
    out += '/';
    out += *it;
  }
  if (out.empty()) out = "/";
  if (fl & SS_BF_DELETED) out += " (deleted)";
  return out;
}

namespace {

std::vector<std::string> split_nul(std::string_view b) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < b.size()) {
    size_t j = b.find('\0', i);
    if (j == std::string_view::npos) j = b.size();
    out.emplace_back(b.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// The kernel's dev_t (major << 20 | minor) as stat(2) reports it (glibc's makedev encoding).
uint64_t user_dev(uint64_t kdev) {
  uint64_t major = kdev >> 20, minor = kdev & 0xfffff;
  return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~uint64_t{0xff}) << 12) |
         ((major & ~uint64_t{0xfff}) << 32);
}

std::string cstr(std::string_view b) {
  auto n = b.find('\0');
  return std::string(n == std::string_view::npos ? b : b.substr(0, n));
}

}  // namespace

std::optional<Event> decode_event(const void* data, size_t len, DecodeError* err) {
  if (len < sizeof(ss_event)) {
    err->what = "record shorter than the event header (" + std::to_string(len) + " bytes)";
    return std::nullopt;
  }
  ss_event raw;
  std::memcpy(&raw, data, sizeof raw);
  if (raw.size < sizeof(ss_event) || raw.size > len) {
    err->what = "event size " + std::to_string(raw.size) + " does not fit record of " +
                std::to_string(len) + " bytes";
    return std::nullopt;
  }
  if (raw.kind == SS_K_NONE || raw.kind >= SS_K__COUNT) {
    err->what = "unknown event kind " + std::to_string(raw.kind);
    return std::nullopt;
  }
  std::string_view blobs[SS_MAX_BLOBS];
  const char* p = static_cast<const char*>(data) + sizeof(ss_event);
  size_t left = raw.size - sizeof(ss_event);
  for (int i = 0; i < SS_MAX_BLOBS; i++) {
    if (raw.blob_len[i] > left) {
      err->what = "blob " + std::to_string(i) + " overruns the event";
      return std::nullopt;
    }
    blobs[i] = std::string_view(p, raw.blob_len[i]);
    p += raw.blob_len[i];
    left -= raw.blob_len[i];
  }

  Event e;
  e.kind = static_cast<Kind>(raw.kind);
  e.flags = raw.flags;
  e.nr = raw.nr;
  e.step = raw.step;
  e.seq = raw.ino.seq;
  e.ts_ns = raw.ts_ns;
  e.pid = raw.pid;
  e.tid = raw.tid;
  e.ret = raw.ret;
  for (int i = 0; i < 6; i++) e.args[i] = raw.args[i];
  if (raw.flags & SS_F_HAS_INO)
    e.ino = {user_dev(raw.ino.dev), raw.ino.ino, raw.ino.size, raw.ino.mtime_ns,
             raw.ino.ctime_ns, raw.ino.mode, raw.ino.nlink, raw.ino.flags};
  for (int i = 0; i < SS_MAX_BLOBS; i++) e.blob_flags[i] = raw.blob_flags[i];

  auto path_of = [&](int slot, uint32_t mode, uint64_t ino) -> std::string {
    if (!(raw.blob_flags[slot] & SS_BF_PATH)) return {};
    return render_path(blobs[slot], raw.blob_flags[slot], mode, ino);
  };
  auto usable = [&](int slot) {
    return !(raw.blob_flags[slot] & (SS_BF_READFAIL | SS_BF_TRUNC));
  };
  e.obj = path_of(SS_B_OBJ, e.ino.mode, e.ino.ino);
  std::string dir1 = path_of(SS_B_DIR1, 0, 0);
  std::string dir2 = path_of(SS_B_DIR2, 0, 0);
  e.raw = cstr(blobs[SS_B_STR1]);
  e.raw2 = cstr(blobs[SS_B_STR2]);

  switch (e.kind) {
    case Kind::EXEC:
      e.cwd = dir1;
      e.path = e.raw.empty() ? std::string() : join_path(dir1, e.raw);
      e.argv = split_nul(blobs[SS_B_EXTRA]);
      break;
    case Kind::SYMLINK:  // STR1 is the link's target, kept verbatim: it is not resolved here
      if (usable(SS_B_STR2)) e.path2 = join_path(dir2, e.raw2);
      break;
    case Kind::COPY:  // two objects: source in OBJ, destination in DIR2 (the inode is its)
      e.obj = path_of(SS_B_OBJ, 0, 0);
      e.path2 = path_of(SS_B_DIR2, e.ino.mode, e.ino.ino);
      break;
    case Kind::DNS_LEARNED:  // STR2 the question name (wire form), EXTRA the raw address
    case Kind::DNS:  // STR2 is the message, binary; EXTRA the destination, if the call named one
      e.raw2 = std::string(blobs[SS_B_STR2]);
      e.sockaddr = std::string(blobs[SS_B_EXTRA]);
      break;
    case Kind::CONNECT:
    case Kind::BIND:
    case Kind::LISTEN:
    case Kind::SENDTO:
      e.sockaddr = std::string(blobs[SS_B_EXTRA]);
      break;
    default:
      // An unreadable or cut argument leaves the path unknown (empty): never the directory.
      if (usable(SS_B_STR1) && (!e.raw.empty() || (raw.blob_flags[SS_B_DIR1] & SS_BF_PATH)))
        e.path = join_path(dir1, e.raw);
      // SETATTR's STR2 is an extended attribute's name (raw2), not a path
      if (e.kind != Kind::SETATTR && usable(SS_B_STR2) &&
          (!e.raw2.empty() || (raw.blob_flags[SS_B_DIR2] & SS_BF_PATH)))
        e.path2 = join_path(dir2, e.raw2);
      break;
  }
  return e;
}

}  // namespace stepseal
