/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dns_guard.h - hardened mode's DNS rules, in the kernel (cgroup_skb programs of the step's
 * cgroup; included by harden.bpf.c).
 *
 *   egress   a UDP query to port 53 for a name the policy does not allow is dropped (the send
 *            fails with EPERM)
 *   ingress  a UDP answer from a policy resolver to a query for an allowed name: its A and AAAA
 *            records become destinations the connect/sendmsg guard allows (dns_learned), and
 *            each is recorded (a DNS_LEARNED event in the tracer's ring)
 *
 * Names are matched by keyed hashes (see SS_DNS_* in stepseal/harden.h): one backward pass over
 * the question's wire form gives the hash of every suffix at a label start. Only the first 512
 * bytes of a message are read, and DNS over TCP is not parsed here (it is recorded and judged).
 */
#ifndef STEPSEAL_BPF_DNS_GUARD_H
#define STEPSEAL_BPF_DNS_GUARD_H

#include "stepseal/events.h"

#define ETH_P_IP_BE 0x0008
#define ETH_P_IPV6_BE 0xDD86
#define IPPROTO_UDP_ 17
#define DNS_PORT_BE_ 0x3500

const volatile __u32 dns_enforce = 0;
const volatile __u64 dns_b1 = 1, dns_b2 = 1;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u64);
  __type(value, __u8);
} dns_names SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH); /* not LRU: what was learned stays, or was never learned */
  __uint(max_entries, 8192);
  __type(key, struct ss_addr_key);
  __type(value, __u8);
} dns_learned SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, struct ss_addr_key);
  __type(value, __u8);
} dns_resolvers SEC(".maps");

/* Queries sent and not yet answered, keyed (local port << 16 | transaction id): an answer is
 * learned from only if it matches one, so nobody can teach the guard addresses unasked. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u8);
} dns_pending SEC(".maps");

/* Shared with the tracer (user space reuses its fds): learned addresses go into the record. */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, SS_C__COUNT);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct dns_scratch {
  __u8 m[512];        /* the message, from the DNS header on */
  struct ss_event ev; /* a DNS_LEARNED event under construction, blobs after it */
  __u8 blobs[256 + 16];
};

/* One buffer for each direction: an answer arriving in softirq context must not overwrite a
 * query being read on the same CPU. (Index 0 egress, 1 ingress.) */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct dns_scratch);
} dns_scratch_map SEC(".maps");

static __always_inline void dns_count(__u32 which)
{
  __u64 *v = bpf_map_lookup_elem(&counters, &which);
  if (v)
    __sync_fetch_and_add(v, 1);
}

/* Matching a question name is two bpf_loop passes (the verifier checks each callback once, not
 * every path through 256 iterations): forward over the labels to find where each starts, then
 * backward over the bytes, hashing, with a lookup at each label start. */
struct name_walk {
  const __u8 *q; /* the name's first byte, inside a 512-byte scratch buffer (256 readable) */
  __u32 avail;
  __u32 p;
  int end;        /* offset of the final zero, -1 until found, -2 if malformed */
  __u64 starts[4]; /* bitmap of label starts */
  __u64 h1, h2;
  int ok;
};

static long walk_labels(__u32 i, void *ctx)
{
  struct name_walk *w = ctx;
  __u32 p = w->p;
  if (p >= w->avail || p > 254) { /* a name is at most 255 octets, its final zero included */
    w->end = -2;
    return 1;
  }
  __u8 l = w->q[p & 255];
  if (l == 0) {
    w->end = p;
    return 1;
  }
  if (l > 63) { /* a compression pointer has no place in a question */
    w->end = -2;
    return 1;
  }
  w->starts[(p >> 6) & 3] |= 1ULL << (p & 63);
  w->p = p + l + 1;
  return 0;
}

static long hash_back(__u32 i, void *ctx)
{
  struct name_walk *w = ctx;
  int j = w->end - (int)i;
  if (j < 0)
    return 1;
  __u64 c = w->q[j & 255];
  if (c >= 'A' && c <= 'Z')
    c += 32; /* label lengths are below 64: only letters are folded */
  w->h1 = (c + dns_b1 * w->h1) % SS_DNS_P1;
  w->h2 = (c + dns_b2 * w->h2) % SS_DNS_P2;
  if (w->starts[(j >> 6) & 3] & (1ULL << (j & 63))) {
    __u64 key = (w->h1 << 32) | w->h2;
    __u8 *v = bpf_map_lookup_elem(&dns_names, &key);
    if (v && ((j == 0 && (*v & SS_DNS_EXACT)) || (j > 0 && (*v & SS_DNS_SUFFIX))))
      w->ok = 1;
  }
  return 0;
}

/* The question name at q[0..]: 1 if the policy allows it, 0 if not, -1 if it is malformed.
 * *len receives its length in wire form (with the final zero). */
static __always_inline int dns_name_ok(const __u8 *q, __u32 avail, __u32 *len)
{
  struct name_walk w = {};
  w.q = q;
  w.avail = avail;
  w.end = -1;
  bpf_loop(128, walk_labels, &w, 0);
  if (w.end < 0)
    return -1;
  *len = w.end + 1;
  bpf_loop(256, hash_back, &w, 0);
  return w.ok;
}

/* UDP over IPv4 or IPv6 (no extension headers): the UDP header's offset, or -1. The source
 * address is copied to *src. */
static __always_inline int udp_offset(struct __sk_buff *skb, struct ss_addr_key *src)
{
  if (skb->protocol == ETH_P_IP_BE) {
    __u8 h[20];
    if (bpf_skb_load_bytes(skb, 0, h, sizeof(h)) < 0 || h[9] != IPPROTO_UDP_)
      return -1;
    src->family = 4;
    __builtin_memcpy(&src->addr[0], &h[12], 4);
    return (h[0] & 0xf) * 4;
  }
  if (skb->protocol == ETH_P_IPV6_BE) {
    __u8 h[40];
    if (bpf_skb_load_bytes(skb, 0, h, sizeof(h)) < 0)
      return -1;
    /* extension headers (hop-by-hop, routing, fragment, destination options) are not walked:
     * such a packet might be a query behind them, so the caller refuses it */
    if (h[6] == 0 || h[6] == 43 || h[6] == 44 || h[6] == 60)
      return -2;
    if (h[6] != IPPROTO_UDP_)
      return -1;
    src->family = 6;
    __builtin_memcpy(src->addr, &h[8], 16);
    return 40;
  }
  return -1;
}

/* Loads the DNS message after the UDP header at `l4` into s->m; returns its length (<= 512). */
static __always_inline int load_message(struct __sk_buff *skb, int l4, struct dns_scratch *s)
{
  __u32 off = (__u32)l4 + 8;
  __u32 n = skb->len > off ? skb->len - off : 0;
  if (n < 12)
    return -1;
  if (n > 512)
    n = 512;
  if (bpf_skb_load_bytes(skb, off, s->m, n) < 0)
    return -1;
  return n;
}

/* Source routing (IPv4 options, IPv6 routing and other extension headers) would deliver a
 * packet elsewhere than the address the connect/sendmsg guard checked: such packets never
 * leave, whatever the policy. (setsockopt of them is refused by seccomp; control messages are
 * what reaches this.) */
static __always_inline int routed_elsewhere(struct __sk_buff *skb)
{
  __u8 b[8];
  if (skb->protocol == ETH_P_IP_BE)
    return bpf_skb_load_bytes(skb, 0, b, 1) < 0 || (b[0] & 0xf) != 5;
  if (skb->protocol == ETH_P_IPV6_BE) {
    if (bpf_skb_load_bytes(skb, 6, b, 1) < 0)
      return 1;
    return b[0] == 0 || b[0] == 43 || b[0] == 44 || b[0] == 60;
  }
  return 0;
}

SEC("cgroup_skb/egress")
int dns_egress(struct __sk_buff *skb)
{
  struct ss_addr_key src = {};
  __u16 ports[2];
  if (routed_elsewhere(skb))
    return 0;
  if (!dns_enforce)
    return 1;
  int l4 = udp_offset(skb, &src);
  if (l4 == -2)
    return 0; /* IPv6 with extension headers: not checked, so not sent */
  if (l4 < 0 || bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)) < 0 || ports[1] != DNS_PORT_BE_)
    return 1;
  if (skb->gso_segs > 1 || skb->gso_size)
    return 0; /* UDP_SEGMENT: several datagrams in one, of which only the first would be read */
  __u32 zero = 0;
  struct dns_scratch *s = bpf_map_lookup_elem(&dns_scratch_map, &zero);
  if (!s)
    return 0;
  int n = load_message(skb, l4, s);
  if (n < 0 || (s->m[2] & 0x80) || s->m[4] != 0 || s->m[5] != 1)
    return 0; /* one question, in a query: nothing else goes to port 53 */
  __u32 len = 0;
  if (dns_name_ok(s->m + 12, (__u32)n - 12, &len) != 1)
    return 0;
  __u32 pending = ((__u32)ports[0] << 16) | ((__u32)s->m[0] << 8) | s->m[1];
  __u8 one = 1;
  bpf_map_update_elem(&dns_pending, &pending, &one, BPF_ANY);
  return 1;
}

static __always_inline void learn(struct dns_scratch *s, __u32 name_len, __u32 at, int v6,
                                  __u16 type)
{
  struct ss_addr_key k = {};
  k.family = v6 ? 6 : 4;
  if (v6)
    __builtin_memcpy(k.addr, &s->m[at & 511], 16);
  else
    __builtin_memcpy(&k.addr[0], &s->m[at & 511], 4);
  __u8 one = 1;
  if (bpf_map_update_elem(&dns_learned, &k, &one, BPF_ANY) < 0)
    return; /* the table is full: not learned, so not recorded as learned either */

  __builtin_memset(&s->ev, 0, sizeof(s->ev));
  s->ev.kind = SS_K_DNS_LEARNED;
  s->ev.ts_ns = bpf_ktime_get_ns();
  s->ev.args[0] = k.family;
  s->ev.args[1] = type;
  __u32 nl = name_len & 255;
  __builtin_memcpy(s->blobs, &s->m[12], 256);
  __builtin_memcpy(&s->blobs[nl], k.addr, 16);
  s->ev.blob_len[SS_B_STR2] = nl;
  s->ev.blob_len[SS_B_EXTRA] = v6 ? 16 : 4;
  __u32 size = sizeof(struct ss_event) + nl + (v6 ? 16 : 4);
  s->ev.size = size;
  if (size > sizeof(struct ss_event) + sizeof(s->blobs))
    return;
  if (bpf_ringbuf_output(&events, &s->ev, size, 0) < 0)
    dns_count(SS_C_LOST_RINGBUF);
  else
    dns_count(SS_C_EVENTS);
}

/* The answer section, one step per callback: a name (a label, or a pointer that ends it), then
 * the fixed part and the data of the record. */
struct answer_walk {
  struct dns_scratch *s;
  __u32 n, p, a, ancount, name_len;
  int in_fixed;
};

static long walk_answer(__u32 i, void *ctx)
{
  struct answer_walk *w = ctx;
  struct dns_scratch *s = w->s;
  __u32 p = w->p;
  if (w->a >= w->ancount || w->a >= 16 || p >= w->n || p > 500)
    return 1;
  if (!w->in_fixed) {
    __u8 c = s->m[p & 511];
    if (c == 0) {
      w->p = p + 1;
      w->in_fixed = 1;
    } else if ((c & 0xC0) == 0xC0) {
      w->p = p + 2;
      w->in_fixed = 1;
    } else if (c > 63) {
      return 1;
    } else {
      w->p = p + c + 1;
    }
    return 0;
  }
  if (p + 10 > w->n)
    return 1;
  __u16 type = ((__u16)s->m[p & 511] << 8) | s->m[(p + 1) & 511];
  __u16 rdlen = ((__u16)s->m[(p + 8) & 511] << 8) | s->m[(p + 9) & 511];
  p += 10;
  if (type == 1 && rdlen == 4 && p + 4 <= w->n)
    learn(s, w->name_len, p, 0, type);
  else if (type == 28 && rdlen == 16 && p + 16 <= w->n)
    learn(s, w->name_len, p, 1, type);
  w->p = p + rdlen;
  w->a++;
  w->in_fixed = 0;
  return 0;
}

SEC("cgroup_skb/ingress")
int dns_ingress(struct __sk_buff *skb)
{
  struct ss_addr_key src = {};
  __u16 ports[2];
  if (!dns_enforce)
    return 1;
  int l4 = udp_offset(skb, &src);
  if (l4 < 0 || bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)) < 0 || ports[0] != DNS_PORT_BE_)
    return 1;
  if (!bpf_map_lookup_elem(&dns_resolvers, &src))
    return 1; /* not from a resolver the policy names: nothing is learned */
  __u32 one_ = 1;
  struct dns_scratch *s = bpf_map_lookup_elem(&dns_scratch_map, &one_);
  if (!s)
    return 1;
  int n = load_message(skb, l4, s);
  if (n < 0 || !(s->m[2] & 0x80) || s->m[4] != 0 || s->m[5] != 1)
    return 1; /* an answer to exactly one question */
  __u32 pending = ((__u32)ports[1] << 16) | ((__u32)s->m[0] << 8) | s->m[1];
  if (bpf_map_delete_elem(&dns_pending, &pending) < 0)
    return 1; /* no query of the step's, sent from that port with that id, is waiting */
  __u32 name_len = 0;
  if (dns_name_ok(s->m + 12, (__u32)n - 12, &name_len) != 1)
    return 1;
  struct answer_walk aw = {};
  aw.s = s;
  aw.n = (__u32)n;
  aw.name_len = name_len;
  aw.ancount = ((__u32)s->m[6] << 8) | s->m[7];
  aw.p = 12 + name_len + 4;
  if (aw.ancount > 0)
    bpf_loop(16 * 66, walk_answer, &aw, 0);
  return 1;
}

#endif
