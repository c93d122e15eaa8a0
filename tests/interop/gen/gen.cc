// Interop fixture generator for blocklog.
//
// Drives the real LevelDB and RocksDB engines (Debian packages) to produce
// write-ahead-log fixtures, their expectations, and the recovery outcomes of
// RocksDB/LevelDB on damaged copies.  It also offers helper subcommands that
// the Rust interop tests use to check that logs written by blocklog replay in
// the real engines.  See ../README.md for the file formats and usage.
//
// Subcommands:
//   gen all OUTDIR WORKDIR          build every fixture + outcome file
//   gen mkdb ENGINE DIR             create an empty DB (ENGINE: leveldb,
//                                   rocksdb, rocksdb-recycle); prints
//                                   "wal <file name> <log number>"
//   gen dump ENGINE DIR [MODE]      open DIR, print what was recovered
//                                   (MODE: rocksdb tolerate|absolute|pit|skip,
//                                    leveldb lenient|paranoid)
//   gen waldir DIR [recycle]        a RocksDB database whose directory keeps
//                                   several WAL files (numbers not
//                                   consecutive, the oldest purged); prints
//                                   "batch FILE SEQ COUNT" per batch still in
//                                   a WAL file, "purged N", "wal FILE" each;
//                                   with recycle also DIR.open, a copy taken
//                                   before Close (which trims the reused
//                                   file): its stale tail is still there

#include <leveldb/db.h>
#include <leveldb/write_batch.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/wal_filter.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <sys/wait.h>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

// ---------------------------------------------------------------- utilities

[[noreturn]] static void die(const std::string& msg) {
  fprintf(stderr, "gen: %s\n", msg.c_str());
  exit(1);
}

// splitmix64: tiny deterministic PRNG; documented in README so tests can
// reproduce byte streams if they need to.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
  // n bytes: each 64-bit output contributes 8 bytes, little-endian.
  std::string bytes(size_t n) {
    std::string out;
    out.reserve(n + 8);
    while (out.size() < n) {
      uint64_t v = next();
      for (int i = 0; i < 8 && out.size() < n; i++) out.push_back(char(v >> (8 * i)));
    }
    return out;
  }
};

static uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

static std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

static std::string hex64(uint64_t v) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
  return buf;
}

static std::string json_str(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(char(c));
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(char(c));
    }
  }
  return out + "\"";
}

static std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) die("cannot read " + p.string());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

static void write_file(const fs::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  if (!f) die("cannot write " + p.string());
  f.write(data.data(), std::streamsize(data.size()));
  if (!f) die("short write " + p.string());
}

static void put_fixed32(std::string* d, uint32_t v) {
  for (int i = 0; i < 4; i++) d->push_back(char(v >> (8 * i)));
}
static void put_fixed64(std::string* d, uint64_t v) {
  for (int i = 0; i < 8; i++) d->push_back(char(v >> (8 * i)));
}
static void put_varint32(std::string* d, uint32_t v) {
  while (v >= 0x80) {
    d->push_back(char((v & 0x7f) | 0x80));
    v >>= 7;
  }
  d->push_back(char(v));
}

// Log files named NNNNNN.log in dir: (number, name), ascending.
static std::vector<std::pair<uint64_t, std::string>> list_logs(const fs::path& dir) {
  std::vector<std::pair<uint64_t, std::string>> out;
  for (auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.size() > 4 && n.substr(n.size() - 4) == ".log" &&
        std::all_of(n.begin(), n.end() - 4, ::isdigit)) {
      out.push_back({std::stoull(n.substr(0, n.size() - 4)), n});
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

static void copy_dir_flat(const fs::path& from, const fs::path& to) {
  fs::remove_all(to);
  fs::create_directories(to);
  for (auto& e : fs::directory_iterator(from)) {
    if (!e.is_regular_file()) continue;
    // A file the engine deleted since the listing (an obsolete table after
    // a compaction) is skipped, as a crash at that moment would not have it.
    std::error_code ec;
    fs::copy_file(e.path(), to / e.path().filename(), ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
      throw fs::filesystem_error("cannot copy file", e.path(), ec);
    }
  }
}

// ------------------------------------------------------------- log layout

constexpr uint64_t kBlock = 32768;

struct Frag {
  uint64_t off;  // file offset of the header
  int type;      // record type byte
  uint32_t len;  // payload length
};

// Physical layout of one logical record appended at *offset, following the
// fragmentation rule shared by LevelDB and RocksDB writers: a block tail
// shorter than a header is zero-filled; a tail exactly header-sized gets an
// empty fragment.  hdr is 7 (legacy) or 11 (recyclable, types +4).
static std::vector<Frag> layout_record(uint64_t* offset, size_t len, int hdr) {
  std::vector<Frag> frags;
  bool begin = true;
  size_t left = len;
  int base = hdr == 11 ? 4 : 0;
  do {
    uint64_t in_block = *offset % kBlock;
    uint64_t leftover = kBlock - in_block;
    if (leftover < uint64_t(hdr)) {
      *offset += leftover;
      in_block = 0;
    }
    uint64_t avail = kBlock - (*offset % kBlock) - hdr;
    size_t flen = std::min<uint64_t>(left, avail);
    bool end = flen == left;
    int type = begin && end ? 1 : begin ? 2 : end ? 4 : 3;
    frags.push_back({*offset, type + base, uint32_t(flen)});
    *offset += hdr + flen;
    left -= flen;
    begin = false;
  } while (left > 0);
  return frags;
}

// --------------------------------------------------------------- workload

struct Op {
  bool put;
  std::string key, value;
};

struct Batch {
  uint64_t seq = 0;
  std::vector<Op> ops;
  std::vector<Frag> frags;  // simulated layout (empty when compressed)
  std::string rep() const {
    std::string r;
    put_fixed64(&r, seq);
    put_fixed32(&r, uint32_t(ops.size()));
    for (auto& op : ops) {
      r.push_back(op.put ? 1 : 0);
      put_varint32(&r, uint32_t(op.key.size()));
      r += op.key;
      if (op.put) {
        put_varint32(&r, uint32_t(op.value.size()));
        r += op.value;
      }
    }
    return r;
  }
};

static size_t varint_len(uint32_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

struct Workload {
  Rng rng;
  bool compressible;
  int hdr;          // header size used for layout simulation (0 = unknown)
  uint64_t offset;  // simulated file offset
  uint64_t next_seq;
  int put_counter = 0;
  std::vector<std::string> base_keys;
  size_t next_base = 0;
  std::vector<Batch> batches;

  Workload(uint64_t seed, bool compressible_values, int header, uint64_t first_seq)
      : rng(seed), compressible(compressible_values), hdr(header), offset(0),
        next_seq(first_seq) {}

  std::string value(size_t n) {
    if (!compressible || n < 16) return rng.bytes(n);
    // Text-like, compressible but not constant.
    std::string out;
    while (out.size() < n) {
      uint64_t v = rng.next();
      char buf[64];
      snprintf(buf, sizeof buf, "blocklog-%05llu|", (unsigned long long)(v % 97));
      out += buf;
    }
    out.resize(n);
    return out;
  }
  std::string put_key() {
    char buf[32];
    snprintf(buf, sizeof buf, "p%06d", put_counter++);
    return buf;
  }
  Op put(size_t vlen) { return Op{true, put_key(), value(vlen)}; }
  Op del() {
    if (next_base >= base_keys.size()) die("workload ran out of base keys");
    return Op{false, base_keys[next_base++], ""};
  }
  Batch& add(std::vector<Op> ops) {
    Batch b;
    b.seq = next_seq;
    b.ops = std::move(ops);
    next_seq += b.ops.size();
    if (hdr) b.frags = layout_record(&offset, b.rep().size(), hdr);
    batches.push_back(std::move(b));
    return batches.back();
  }
  void small_puts(int n, size_t maxlen) {
    for (int i = 0; i < n; i++) add({put(rng.below(maxlen + 1))});
  }
  // Single put whose record ends leaving exactly `target` bytes in the block.
  void pad_to_leftover(uint64_t target) {
    if (!hdr) die("pad_to_leftover needs a layout");
    for (size_t v = 0; v < 70000; v++) {
      uint64_t off = offset;
      size_t replen = 12 + 1 + 1 + 7 + varint_len(uint32_t(v)) + v;  // key is 7 bytes
      layout_record(&off, replen, hdr);
      if ((kBlock - off % kBlock) % kBlock == target % kBlock) {
        Batch& b = add({put(v)});
        if (b.rep().size() != replen) die("pad_to_leftover size mismatch");
        return;
      }
    }
    die("pad_to_leftover: no size found");
  }
  // Single put whose record is one FULL fragment filling a whole block.
  void full_block_record() {
    pad_to_leftover(0);
    size_t want = kBlock - hdr;              // rep length
    size_t v = want - (12 + 1 + 1 + 7 + 3);  // varint of ~32K is 3 bytes
    Batch& b = add({put(v)});
    if (b.rep().size() != want || b.frags.size() != 1) die("full_block_record mismatch");
  }
};

// The standard mixed workload used by leveldb/ and rocksdb-default/.  Edge
// cases are placed with the layout simulator (hdr must be known).
static void standard_plan(Workload& w) {
  w.add({w.put(0)});
  w.add({w.put(1)});
  w.small_puts(30, 300);
  w.add({w.put(10), w.del(), w.put(200), w.del()});
  w.add({w.del()});
  w.add({w.del(), w.del(), w.del()});
  w.add({w.put(0), w.put(5), w.put(1000)});
  w.small_puts(5, 3000);
  w.pad_to_leftover(w.hdr);      // next record starts with an empty fragment
  w.add({w.put(40)});
  w.pad_to_leftover(w.hdr - 1);  // zero trailer of hdr-1 bytes
  w.add({w.put(40)});
  w.full_block_record();         // exactly one block
  w.add({w.put(40000), w.del(), w.put(3)});
  w.small_puts(20, 400);
  w.add({w.put(100000)});
  w.add({w.put(20000), w.put(20000), w.del(), w.put(20000)});
  for (int i = 0; i < 10; i++) {
    if (i % 3 == 0) w.add({w.del()});
    else w.add({w.put(w.rng.below(200)), w.del(), w.put(w.rng.below(2000))});
  }
  w.add({w.put(250000)});
  w.small_puts(15, 500);
  w.add({w.put(70000)});  // second to last: multi-block
  w.add({w.put(50)});     // last: small FULL record
}

// ------------------------------------------------------ expectation output

static std::string rocks_mode_name(rocksdb::WALRecoveryMode m) {
  switch (m) {
    case rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords: return "kTolerateCorruptedTailRecords";
    case rocksdb::WALRecoveryMode::kAbsoluteConsistency: return "kAbsoluteConsistency";
    case rocksdb::WALRecoveryMode::kPointInTimeRecovery: return "kPointInTimeRecovery";
    case rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords: return "kSkipAnyCorruptedRecords";
  }
  return "?";
}

static const rocksdb::WALRecoveryMode kModes[4] = {
    rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords,
    rocksdb::WALRecoveryMode::kAbsoluteConsistency,
    rocksdb::WALRecoveryMode::kPointInTimeRecovery,
    rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords,
};

struct WalInfo {
  std::string engine;       // e.g. "rocksdb 7.8.3"
  std::string file;         // WAL file name inside the fixture dir
  uint64_t log_number;
  bool recyclable;
  std::string compression;  // none | zstd
  std::string note;
};

// Line format, see README.
static void write_expected(const fs::path& path, const WalInfo& info, uint64_t file_size,
                           const std::vector<const Batch*>& batches) {
  std::string o;
  o += "# blocklog interop expectation v1\n";
  if (!info.note.empty()) o += "# " + info.note + "\n";
  o += "engine " + info.engine + "\n";
  o += "file " + info.file + "\n";
  o += "log_number " + std::to_string(info.log_number) + "\n";
  o += "recyclable " + std::string(info.recyclable ? "1" : "0") + "\n";
  o += "compression " + info.compression + "\n";
  o += "file_size " + std::to_string(file_size) + "\n";
  o += "batches " + std::to_string(batches.size()) + "\n";
  for (const Batch* b : batches) {
    std::string rep = b->rep();
    o += "batch " + std::to_string(b->seq) + " " + std::to_string(b->ops.size()) + " " +
         std::to_string(rep.size()) + " " + hex64(fnv1a64(rep));
    if (!b->frags.empty()) {
      o += " " + std::to_string(b->frags.front().off) + " " + std::to_string(b->frags.size());
    } else {
      o += " - -";
    }
    o += "\n";
    for (auto& op : b->ops) {
      if (op.put) {
        o += "put " + hex(op.key) + " " + std::to_string(op.value.size()) + " " +
             hex64(fnv1a64(op.value)) + " " + (op.value.size() <= 64 ? (op.value.empty() ? "=" : hex(op.value)) : "-") + "\n";
      } else {
        o += "del " + hex(op.key) + "\n";
      }
    }
  }
  o += "end\n";
  write_file(path, o);
}

// ------------------------------------------------------------------ LevelDB

static leveldb::DB* ldb_open(const fs::path& dir, bool create, bool paranoid, leveldb::Status* st) {
  leveldb::Options o;
  o.create_if_missing = create;
  o.write_buffer_size = 64 << 20;
  o.paranoid_checks = paranoid;
  leveldb::DB* db = nullptr;
  *st = leveldb::DB::Open(o, dir.string(), &db);
  return st->ok() ? db : nullptr;
}

static void ldb_write(leveldb::DB* db, const Batch& b) {
  leveldb::WriteBatch wb;
  for (auto& op : b.ops) {
    if (op.put) wb.Put(op.key, op.value);
    else wb.Delete(op.key);
  }
  if (wb.ApproximateSize() != b.rep().size()) die("leveldb batch size differs from our rep");
  leveldb::Status s = db->Write(leveldb::WriteOptions(), &wb);
  if (!s.ok()) die("leveldb write: " + s.ToString());
}

static std::map<std::string, std::string> ldb_scan(leveldb::DB* db) {
  std::map<std::string, std::string> m;
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) m[it->key().ToString()] = it->value().ToString();
  if (!it->status().ok()) die("leveldb iterate: " + it->status().ToString());
  return m;
}

// ------------------------------------------------------------------ RocksDB

struct RecordingFilter : public rocksdb::WalFilter {
  std::vector<std::pair<uint64_t, uint32_t>> seen;  // (seq, count)
  bool print = false;  // also print "batch SEQ COUNT" lines as they arrive
  WalProcessingOption LogRecordFound(unsigned long long, const std::string&,
                                     const rocksdb::WriteBatch& batch, rocksdb::WriteBatch*,
                                     bool*) override {
    const std::string& d = batch.Data();
    uint64_t seq = 0;
    for (int i = 0; i < 8 && i < int(d.size()); i++) seq |= uint64_t(uint8_t(d[i])) << (8 * i);
    seen.push_back({seq, batch.Count()});
    if (print) {
      printf("batch %llu %u\n", (unsigned long long)seq, batch.Count());
      fflush(stdout);
    }
    return WalProcessingOption::kContinueProcessing;
  }
  const char* Name() const override { return "RecordingFilter"; }
};

struct RocksCfg {
  size_t recycle = 0;
  bool zstd = false;
  rocksdb::WALRecoveryMode mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
};

static rocksdb::DB* rdb_open(const fs::path& dir, bool create, const RocksCfg& cfg,
                             rocksdb::WalFilter* filter, rocksdb::Status* st) {
  rocksdb::Options o;
  o.create_if_missing = create;
  o.recycle_log_file_num = cfg.recycle;
  o.wal_recovery_mode = cfg.mode;
  if (cfg.zstd) o.wal_compression = rocksdb::kZSTD;
  o.wal_filter = filter;
  rocksdb::DB* db = nullptr;
  *st = rocksdb::DB::Open(o, dir.string(), &db);
  return st->ok() ? db : nullptr;
}

static void rdb_write(rocksdb::DB* db, const Batch& b) {
  rocksdb::WriteBatch wb;
  for (auto& op : b.ops) {
    rocksdb::Status s = op.put ? wb.Put(op.key, op.value) : wb.Delete(op.key);
    if (!s.ok()) die("rocksdb batch: " + s.ToString());
  }
  uint64_t before = db->GetLatestSequenceNumber();
  if (before + 1 != b.seq) die("rocksdb seq mismatch before write: " + std::to_string(before));
  rocksdb::Status s = db->Write(rocksdb::WriteOptions(), &wb);
  if (!s.ok()) die("rocksdb write: " + s.ToString());
  if (db->GetLatestSequenceNumber() != b.seq + b.ops.size() - 1) die("rocksdb seq mismatch after write");
  // The engine stamps the sequence into the caller's batch; whole rep must match ours.
  if (wb.Data() != b.rep()) die("rocksdb WriteBatch rep differs from ours at seq " + std::to_string(b.seq));
}

static std::map<std::string, std::string> rdb_scan(rocksdb::DB* db) {
  std::map<std::string, std::string> m;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) m[it->key().ToString()] = it->value().ToString();
  if (!it->status().ok()) die("rocksdb iterate: " + it->status().ToString());
  return m;
}

// ------------------------------------------------------------- evaluation

struct Eval {
  std::vector<uint64_t> full, partial;
  int unexpected = 0;  // keys present that no batch explains
};

// Which batches' effects are visible in the DB contents.  Puts write unique
// keys; deletes remove unique base keys that live in an SST.
static Eval evaluate(const std::map<std::string, std::string>& db, const Workload& w,
                     const std::vector<const Batch*>& under_test) {
  Eval e;
  for (const Batch* b : under_test) {
    size_t ok = 0;
    for (auto& op : b->ops) {
      auto it = db.find(op.key);
      if (op.put) ok += it != db.end() && it->second == op.value;
      else ok += it == db.end();
    }
    if (ok == b->ops.size()) e.full.push_back(b->seq);
    else if (ok != 0) e.partial.push_back(b->seq);
  }
  std::map<std::string, bool> known;
  for (auto& k : w.base_keys) known[k] = true;
  for (auto& b : w.batches)
    for (auto& op : b.ops) known[op.key] = true;
  for (auto& kv : db) e.unexpected += !known.count(kv.first);
  return e;
}

static std::string json_list(const std::vector<uint64_t>& v) {
  std::string o = "[";
  for (size_t i = 0; i < v.size(); i++) o += (i ? "," : "") + std::to_string(v[i]);
  return o + "]";
}

// Compact form of a sorted seq list relative to the batch order: ranges of
// consecutive batches, as "seqA-seqB" strings (for the README table).
static std::string ranges_desc(const std::vector<uint64_t>& got, const std::vector<const Batch*>& all) {
  std::map<uint64_t, size_t> idx;
  for (size_t i = 0; i < all.size(); i++) idx[all[i]->seq] = i;
  std::string o;
  size_t i = 0;
  while (i < got.size()) {
    size_t j = i;
    while (j + 1 < got.size() && idx[got[j + 1]] == idx[got[j]] + 1) j++;
    if (!o.empty()) o += ",";
    o += "#" + std::to_string(idx[got[i]]) + (j > i ? "-#" + std::to_string(idx[got[j]]) : "");
    i = j + 1;
  }
  return o.empty() ? "none" : o;
}

// ----------------------------------------------------------------- damages

struct Step {
  std::string op;  // flip_bit truncate zero_range append_zeros append_hex
  uint64_t a = 0, b = 0;
  std::string data;
};

struct Damage {
  std::string name, description;
  std::vector<Step> steps;
};

static std::string apply_damage(std::string f, const std::vector<Step>& steps) {
  for (auto& s : steps) {
    if (s.op == "flip_bit") {
      if (s.a >= f.size()) die("flip_bit out of range");
      f[s.a] = char(uint8_t(f[s.a]) ^ (1u << s.b));
    } else if (s.op == "truncate") {
      if (s.a > f.size()) die("truncate beyond end");
      f.resize(s.a);
    } else if (s.op == "zero_range") {
      if (s.b > f.size() || s.a > s.b) die("zero_range out of range");
      std::fill(f.begin() + long(s.a), f.begin() + long(s.b), '\0');
    } else if (s.op == "append_zeros") {
      f.append(s.a, '\0');
    } else if (s.op == "append_hex") {
      f += s.data;
    } else {
      die("unknown step " + s.op);
    }
  }
  return f;
}

static std::string step_json(const Step& s) {
  if (s.op == "flip_bit")
    return "{\"op\":\"flip_bit\",\"offset\":" + std::to_string(s.a) + ",\"bit\":" + std::to_string(s.b) + "}";
  if (s.op == "truncate") return "{\"op\":\"truncate\",\"len\":" + std::to_string(s.a) + "}";
  if (s.op == "zero_range")
    return "{\"op\":\"zero_range\",\"start\":" + std::to_string(s.a) + ",\"end\":" + std::to_string(s.b) + "}";
  if (s.op == "append_zeros") return "{\"op\":\"append_zeros\",\"len\":" + std::to_string(s.a) + "}";
  return "{\"op\":\"append_hex\",\"hex\":\"" + hex(s.data) + "\"}";
}

static const Batch* find_batch(const std::vector<const Batch*>& bs, size_t from, bool multi, size_t min_len) {
  for (size_t i = from; i < bs.size(); i++) {
    bool is_multi = bs[i]->frags.size() > 1;
    if (is_multi == multi && bs[i]->rep().size() >= min_len && bs[i]->frags[0].len > 100)
      return bs[i];
  }
  die("find_batch: nothing suitable");
}

// Damage recipes for a WAL with simulated layout (legacy 7-byte headers).
static std::vector<Damage> make_damages(const std::vector<const Batch*>& bs, uint64_t file_size, int hdr) {
  std::vector<Damage> d;
  const Batch* last = bs.back();
  const Batch* prev = bs[bs.size() - 2];
  if (last->frags.size() != 1 || prev->frags.size() < 3) die("plan tail shape unexpected");
  uint64_t lo = last->frags[0].off;
  uint32_t llen = last->frags[0].len;
  if (lo + hdr + llen != file_size) die("simulated layout does not match file size");

  d.push_back({"none", "pristine file (control)", {}});
  d.push_back({"torn-header", "truncated 4 bytes into the last record's header",
               {{"truncate", lo + 4}}});
  d.push_back({"torn-payload", "truncated in the middle of the last record's payload",
               {{"truncate", lo + hdr + llen / 2}}});
  d.push_back({"bitflip-last-payload", "one bit flipped in the last record's payload",
               {{"flip_bit", lo + hdr + llen / 2, 2}}});
  // multi-block record torn at the block boundary after its FIRST fragment
  d.push_back({"torn-multiblock", "truncated 100 bytes after the start of the second fragment of the second-to-last (multi-block) record; the record's FIRST fragment is complete",
               {{"truncate", prev->frags[1].off + 100}}});
  size_t mid = bs.size() / 2;
  const Batch* m1 = find_batch(bs, mid, false, 40);
  d.push_back({"bitflip-mid-payload", "one bit flipped in the payload of a single-fragment record in the middle of the file",
               {{"flip_bit", m1->frags[0].off + hdr + m1->frags[0].len / 2, 3}}});
  d.push_back({"bitflip-mid-length-low", "lowest bit of the length field (byte 4 of header) flipped in a single-fragment record mid-file",
               {{"flip_bit", m1->frags[0].off + 4, 0}}});
  d.push_back({"bitflip-mid-length-high", "bit 7 of the length high byte (byte 5 of header) flipped in a single-fragment record mid-file (length grows by 32768)",
               {{"flip_bit", m1->frags[0].off + 5, 7}}});
  const Batch* mb = find_batch(bs, mid, true, 0);
  d.push_back({"bitflip-first-fragment", "one bit flipped in the payload of the FIRST fragment of a multi-block record mid-file",
               {{"flip_bit", mb->frags[0].off + hdr + mb->frags[0].len / 2, 5}}});
  // A block that contains the start of several small records, and a block
  // entirely inside a MIDDLE fragment of a large record.
  uint64_t nblocks = (file_size + kBlock - 1) / kBlock;
  uint64_t small_block = 0, large_block = 0;
  for (uint64_t k = 1; k + 1 < nblocks && !small_block; k++) {
    int starts = 0;
    for (const Batch* b : bs)
      if (b->frags[0].off / kBlock == k) starts++;
    if (starts >= 5) small_block = k;
  }
  for (const Batch* b : bs)
    for (auto& f : b->frags)
      if (!large_block && f.type == 3 && f.off % kBlock == 0 && f.off / kBlock > nblocks / 3)
        large_block = f.off / kBlock;
  if (!small_block || !large_block) die("could not choose blocks to zero");
  d.push_back({"zero-block-small-records", "an interior 32 KiB block holding the starts of several small records set to zero",
               {{"zero_range", small_block * kBlock, (small_block + 1) * kBlock}}});
  d.push_back({"zero-block-in-large-record", "an interior 32 KiB block that is entirely a MIDDLE fragment of a large record set to zero",
               {{"zero_range", large_block * kBlock, (large_block + 1) * kBlock}}});
  d.push_back({"zero-tail", "64 KiB of zero bytes appended", {{"append_zeros", 65536}}});
  Rng g(0xB10C106);
  d.push_back({"garbage-tail", "5000 pseudo-random bytes appended (splitmix64 seed 0xB10C106)",
               {{"append_hex", 0, 0, g.bytes(5000)}}});
  d.push_back({"truncate-at-block", "truncated at the first block boundary (32768), inside a record that spans it",
               {{"truncate", kBlock}}});
  return d;
}

// Damage recipes for a real WAL whose layout is read from its headers
// (legacy 7-byte headers; used for the compressed log, whose fragment sizes
// the simulator cannot know). Same names as make_damages where they apply.
struct Phys {
  uint64_t off;
  uint32_t len;
  int type;
};

static std::vector<Phys> walk_wal(const std::string& wal) {
  std::vector<Phys> v;
  uint64_t pos = 0;
  while (pos + 7 <= wal.size()) {
    uint64_t left = kBlock - pos % kBlock;
    if (left < 7) {
      pos += left;
      continue;
    }
    uint32_t len = uint8_t(wal[pos + 4]) | uint32_t(uint8_t(wal[pos + 5])) << 8;
    int type = uint8_t(wal[pos + 6]);
    if (type == 0 && len == 0) die("walk_wal: zero header in a pristine log");
    v.push_back({pos, len, type});
    pos += 7 + len;
  }
  if (pos != wal.size()) die("walk_wal: headers do not end at the end of the file");
  return v;
}

static std::vector<Damage> make_damages_walked(const std::string& wal) {
  auto ph = walk_wal(wal);
  std::vector<Damage> d;
  const Phys& last = ph.back();
  if (last.type != 1 || last.len < 8) die("walked log: the last record is not a FULL one");
  size_t n = ph.size();
  const Phys* mid = nullptr;
  for (size_t i = n / 3; i + 1 < n && !mid; i++)
    if (ph[i].type == 1 && ph[i].len >= 40) mid = &ph[i];
  const Phys* first = nullptr;
  for (size_t i = 0; i + 1 < n && !first; i++)
    if (ph[i].type == 2 && ph[i].len >= 16 && ph[i].off / kBlock + 1 < (wal.size() + kBlock - 1) / kBlock)
      first = &ph[i];
  if (!mid || !first || wal.size() < 2 * kBlock + 1000) die("walked log: no suitable records");
  uint64_t lo = last.off, llen = last.len;
  d.push_back({"none", "pristine file (control)", {}});
  d.push_back({"torn-header", "truncated 4 bytes into the last record's header", {{"truncate", lo + 4}}});
  d.push_back({"torn-payload", "truncated in the middle of the last record's payload",
               {{"truncate", lo + 7 + llen / 2}}});
  d.push_back({"bitflip-last-payload", "one bit flipped in the last record's payload",
               {{"flip_bit", lo + 7 + llen / 2, 2}}});
  d.push_back({"bitflip-mid-payload", "one bit flipped in the payload of a single-fragment record in the middle of the file",
               {{"flip_bit", mid->off + 7 + mid->len / 2, 3}}});
  d.push_back({"bitflip-mid-length-high", "bit 7 of the length high byte flipped in the same record (length grows by 32768)",
               {{"flip_bit", mid->off + 5, 7}}});
  d.push_back({"bitflip-first-fragment", "one bit flipped in the payload of the FIRST fragment of a multi-fragment record",
               {{"flip_bit", first->off + 7 + first->len / 2, 5}}});
  d.push_back({"zero-block", "the second 32 KiB block set to zero",
               {{"zero_range", kBlock, 2 * kBlock}}});
  d.push_back({"zero-tail", "64 KiB of zero bytes appended", {{"append_zeros", 65536}}});
  Rng g(0xB10C106);
  d.push_back({"garbage-tail", "5000 pseudo-random bytes appended (splitmix64 seed 0xB10C106)",
               {{"append_hex", 0, 0, g.bytes(5000)}}});
  return d;
}

// ------------------------------------------------------------ fixtures

struct Ctx {
  fs::path out, work;
};

static std::vector<std::string> make_base(Workload& w, int n) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "d%06d", i);
    keys.push_back(buf);
  }
  w.base_keys = keys;
  return keys;
}

// Base batch: all base keys with small values.  Written first, then flushed
// to a table file so the WAL under test only holds the workload.
static Batch base_batch(Workload& w) {
  Batch b;
  b.seq = 1;
  for (auto& k : w.base_keys) b.ops.push_back(Op{true, k, "base-" + k});
  return b;
}

static std::vector<const Batch*> ptrs(const std::vector<Batch>& v, size_t from = 0, size_t to = SIZE_MAX) {
  std::vector<const Batch*> out;
  for (size_t i = from; i < std::min(to, v.size()); i++) out.push_back(&v[i]);
  return out;
}

static void check_nonempty_only_logs(const fs::path& dir, const char* what) {
  auto logs = list_logs(dir);
  if (logs.size() != 1) die(std::string(what) + ": expected exactly one .log, found " + std::to_string(logs.size()));
}

static void outcome_json_entry(std::string* o, const std::string& damage, const std::string& mode, bool open_ok,
                               const std::string& status, uint64_t latest, const Eval& e,
                               const std::vector<std::pair<uint64_t, uint32_t>>* delivered, bool first) {
  *o += first ? "    " : ",\n    ";
  *o += "{\"damage\":" + json_str(damage) + ",\"mode\":" + json_str(mode) + ",\"open_ok\":" +
        (open_ok ? "true" : "false") + ",\"status\":" + json_str(status);
  if (open_ok) {
    if (delivered) *o += ",\"latest_seq\":" + std::to_string(latest);
    *o += ",\"recovered\":" + json_list(e.full) + ",\"partial\":" + json_list(e.partial) +
          ",\"unexpected_keys\":" + std::to_string(e.unexpected);
  }
  if (delivered) {
    std::vector<uint64_t> d;
    for (auto& p : *delivered) d.push_back(p.first);
    *o += ",\"delivered\":" + json_list(d);
  }
  *o += "}";
}

static std::string damages_json(const std::vector<Damage>& ds) {
  std::string o = "  \"damages\": [\n";
  for (size_t i = 0; i < ds.size(); i++) {
    o += "    {\"name\":" + json_str(ds[i].name) + ",\"description\":" + json_str(ds[i].description) +
         ",\"recipe\":[";
    for (size_t j = 0; j < ds[i].steps.size(); j++) o += (j ? "," : "") + step_json(ds[i].steps[j]);
    o += "]}" + std::string(i + 1 < ds.size() ? ",\n" : "\n");
  }
  return o + "  ],\n";
}

static std::string seq_header_json(const std::vector<const Batch*>& bs) {
  std::vector<uint64_t> s;
  for (auto b : bs) s.push_back(b->seq);
  return "  \"batch_seqs\": " + json_list(s) + ",\n";
}

// Markdown table text collected for README (printed to stdout).
static std::string g_tables;

static void leveldb_fixture(const Ctx& c) {
  fs::path db = c.work / "leveldb-db";
  fs::remove_all(db);
  Workload w(0x1E7E1DB, false, 7, 0);
  make_base(w, 200);
  leveldb::Status st;
  leveldb::DB* d = ldb_open(db, true, false, &st);
  if (!d) die("leveldb open: " + st.ToString());
  ldb_write(d, base_batch(w));
  d->CompactRange(nullptr, nullptr);  // memtable -> table, new log
  w.next_seq = 1 + w.base_keys.size();
  standard_plan(w);
  for (auto& b : w.batches) ldb_write(d, b);
  delete d;  // LevelDB does not flush the memtable on close
  check_nonempty_only_logs(db, "leveldb");
  auto logs = list_logs(db);
  std::string wal = read_file(db / logs[0].second);
  auto bs = ptrs(w.batches);
  uint64_t end = bs.back()->frags.back().off + 7 + bs.back()->frags.back().len;
  if (end != wal.size()) die("leveldb: simulated size " + std::to_string(end) + " != " + std::to_string(wal.size()));

  fs::path out = c.out / "leveldb";
  fs::create_directories(out);
  write_file(out / logs[0].second, wal);
  write_expected(out / (logs[0].second + ".expected.txt"),
                 {"leveldb 1.23", logs[0].second, logs[0].first, false, "none", ""}, wal.size(), bs);
  // Template DB for outcomes: the closed DB dir holds MANIFEST/CURRENT + log.
  fs::path tmpl = c.work / "leveldb-template";
  copy_dir_flat(db, tmpl);

  // Sanity: reopen a copy and check everything is there.
  auto damages = make_damages(bs, wal.size(), 7);
  std::string o = "{\n  \"engine\": \"leveldb 1.23\",\n  \"fixture\": \"leveldb/" + logs[0].second + "\",\n";
  o += seq_header_json(bs);
  o += damages_json(damages);
  o += "  \"modes\": [\"paranoid_checks=false\",\"paranoid_checks=true\"],\n  \"outcomes\": [\n";
  std::string table = "| damage | paranoid_checks=false | paranoid_checks=true |\n|---|---|---|\n";
  bool first = true;
  for (auto& dmg : damages) {
    table += "| " + dmg.name + " |";
    for (int p = 0; p < 2; p++) {
      fs::path cd = c.work / "case";
      copy_dir_flat(tmpl, cd);
      write_file(cd / logs[0].second, apply_damage(wal, dmg.steps));
      leveldb::DB* x = ldb_open(cd, false, p == 1, &st);
      Eval e;
      if (x) {
        e = evaluate(ldb_scan(x), w, bs);
        delete x;
      }
      if (dmg.name == "none" && (!x || e.full.size() != bs.size())) die("leveldb pristine replay incomplete");
      outcome_json_entry(&o, dmg.name, p ? "paranoid_checks=true" : "paranoid_checks=false", x != nullptr,
                         st.ToString(), 0, e, nullptr, first);
      first = false;
      table += " " + (x ? ranges_desc(e.full, bs) + (e.partial.empty() ? "" : " partial:" + ranges_desc(e.partial, bs))
                         : "open fails: " + st.ToString()) + " |";
    }
    table += "\n";
  }
  o += "\n  ]\n}\n";
  write_file(c.out / "leveldb-outcomes.json", o);
  g_tables += "\n### LevelDB 1.23 (" + std::to_string(bs.size()) + " batches, #0..#" +
              std::to_string(bs.size() - 1) + ")\n\n" + table;
  fs::remove_all(c.work / "case");
}

struct RocksRun {
  bool ok;
  std::string status;
  uint64_t latest = 0;
  Eval e;
  std::vector<std::pair<uint64_t, uint32_t>> delivered;
};

static std::string unhex(const std::string& h) {
  if (h == "=") return "";
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(char(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

static fs::path g_self;
static const int kCaseTimeout = 20;  // seconds; RocksDB 7.8.3 can spin forever

// Each recovery attempt runs in a child process (`gen dump ...` under
// timeout(1)) because some RocksDB recoveries never return.
static RocksRun rocks_case(const fs::path& tmpl, const fs::path& work, const std::string& walname,
                           const std::string& bytes, const RocksCfg& cfg, const Workload& w,
                           const std::vector<const Batch*>& bs) {
  fs::path cd = work / "case";
  copy_dir_flat(tmpl, cd);
  write_file(cd / walname, bytes);
  const char* mode = cfg.mode == kModes[0] ? "tolerate" : cfg.mode == kModes[1] ? "absolute"
                     : cfg.mode == kModes[2] ? "pit" : "skip";
  std::string cmd = "timeout " + std::to_string(kCaseTimeout) + " '" + g_self.string() + "' dump rocksdb '" +
                    cd.string() + "' " + mode + " recycle=" + std::to_string(cfg.recycle) + (cfg.zstd ? " zstd" : "") +
                    " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) die("popen");
  RocksRun r;
  r.ok = false;
  std::map<std::string, std::string> kv;
  std::string line;
  char buf[1 << 16];
  bool opened = false;
  std::string status;
  while (fgets(buf, sizeof buf, p)) {
    line += buf;
    if (line.empty() || line.back() != '\n') continue;
    line.pop_back();
    std::istringstream ls(line);
    std::string tag;
    ls >> tag;
    if (tag == "batch") {
      unsigned long long sq;
      unsigned c;
      ls >> sq >> c;
      r.delivered.push_back({sq, c});
    } else if (tag == "open") {
      std::string what;
      ls >> what;
      opened = what == "ok";
      std::getline(ls, status);
      if (!status.empty() && status[0] == ' ') status.erase(0, 1);
      if (opened) status = "OK";
    } else if (tag == "latest_seq") {
      ls >> r.latest;
    } else if (tag == "kv") {
      std::string k, v;
      ls >> k >> v;
      kv[unhex(k)] = unhex(v);
    }
    line.clear();
  }
  int rc = pclose(p);
  int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  if (code == 124) {
    r.status = "TIMEOUT: recovery did not finish within " + std::to_string(kCaseTimeout) + " s";
  } else if (code == 0 && opened) {
    r.ok = true;
    r.status = status;
    r.e = evaluate(kv, w, bs);
  } else if (code == 2) {
    r.status = status;
  } else {
    die("dump child failed with code " + std::to_string(code));
  }
  fs::remove_all(cd);
  return r;
}

static void rocks_outcomes(const Ctx& c, const std::string& name, const fs::path& tmpl, const std::string& walname,
                           const std::string& wal, const RocksCfg& base_cfg, const Workload& w,
                           const std::vector<const Batch*>& bs, const std::vector<Damage>& damages,
                           const std::string& fixture) {
  std::string o = "{\n  \"engine\": \"rocksdb 7.8.3\",\n  \"fixture\": " + json_str(fixture) + ",\n";
  o += "  \"options\": {\"recycle_log_file_num\":" + std::to_string(base_cfg.recycle) + "},\n";
  o += seq_header_json(bs);
  o += damages_json(damages);
  o += "  \"modes\": [";
  for (int m = 0; m < 4; m++) o += (m ? ",\"" : "\"") + rocks_mode_name(kModes[m]) + "\"";
  o += "],\n  \"outcomes\": [\n";
  std::string table = "| damage | Tolerate | Absolute | PointInTime | Skip |\n|---|---|---|---|---|\n";
  bool first = true;
  for (auto& dmg : damages) {
    table += "| " + dmg.name + " |";
    std::string bytes = apply_damage(wal, dmg.steps);
    for (int m = 0; m < 4; m++) {
      RocksCfg cfg = base_cfg;
      cfg.mode = kModes[m];
      RocksRun r = rocks_case(tmpl, c.work, walname, bytes, cfg, w, bs);
      if (dmg.name == "none" && m == 2 && (!r.ok || r.e.full.size() != bs.size()))
        die(name + ": pristine replay incomplete: " + r.status);
      outcome_json_entry(&o, dmg.name, rocks_mode_name(kModes[m]), r.ok, r.status, r.latest, r.e, &r.delivered, first);
      first = false;
      std::string cell;
      if (!r.ok) {
        std::string s = r.status;
        if (s.size() > 60) s = s.substr(0, 60) + "…";
        cell = "open fails (" + s + ")";
      } else {
        cell = ranges_desc(r.e.full, bs);
        if (!r.e.partial.empty()) cell += " partial:" + ranges_desc(r.e.partial, bs);
      }
      table += " " + cell + " |";
    }
    table += "\n";
  }
  o += "\n  ]\n}\n";
  write_file(c.out / (name + "-outcomes.json"), o);
  g_tables += "\n### " + name + " (" + std::to_string(bs.size()) + " batches, #0..#" + std::to_string(bs.size() - 1) +
              ")\n\n" + table;
}

static void rocksdb_default_fixture(const Ctx& c) {
  fs::path db = c.work / "rocksdb-db";
  fs::remove_all(db);
  Workload w(0x50C4DB, false, 7, 0);
  make_base(w, 200);
  RocksCfg cfg;
  rocksdb::Status st;
  rocksdb::DB* d = rdb_open(db, true, cfg, nullptr, &st);
  if (!d) die("rocksdb open: " + st.ToString());
  Batch base = base_batch(w);
  rdb_write(d, base);
  st = d->Flush(rocksdb::FlushOptions());
  if (!st.ok()) die("flush: " + st.ToString());
  w.next_seq = 1 + w.base_keys.size();
  standard_plan(w);
  for (auto& b : w.batches) rdb_write(d, b);
  auto logs_open = list_logs(db);
  std::string wal_open = read_file(db / logs_open.back().second);
  st = d->Close();
  if (!st.ok()) die("close: " + st.ToString());
  delete d;
  check_nonempty_only_logs(db, "rocksdb-default");
  auto logs = list_logs(db);
  std::string wal = read_file(db / logs[0].second);
  if (wal != wal_open) die("rocksdb-default: WAL differs between open and closed DB");
  auto bs = ptrs(w.batches);
  uint64_t end = bs.back()->frags.back().off + 7 + bs.back()->frags.back().len;
  if (end != wal.size()) die("rocksdb: simulated size " + std::to_string(end) + " != " + std::to_string(wal.size()));
  for (auto& e : fs::directory_iterator(db))
    if (e.path().extension() == ".sst") fprintf(stderr, "rocksdb-default: table %s\n", e.path().filename().c_str());

  fs::path out = c.out / "rocksdb-default";
  fs::create_directories(out);
  write_file(out / logs[0].second, wal);
  write_expected(out / (logs[0].second + ".expected.txt"),
                 {"rocksdb 7.8.3", logs[0].second, logs[0].first, false, "none", "default options"}, wal.size(), bs);
  fs::path tmpl = c.work / "rocksdb-template";
  copy_dir_flat(db, tmpl);
  auto damages = make_damages(bs, wal.size(), 7);
  rocks_outcomes(c, "rocksdb", tmpl, logs[0].second, wal, cfg, w, bs, damages,
                 "rocksdb-default/" + logs[0].second);
}

// Recyclable log fixture: WAL n1 (fresh) -> flush -> n2 (fresh) -> flush ->
// n3 reuses n1's file; fewer bytes are written to n3 so n1's records remain
// as a stale tail.
static void rocksdb_recycle_fixture(const Ctx& c) {
  fs::path db = c.work / "rocksdb-recycle-db";
  fs::remove_all(db);
  Workload w(0x2EC1C1E, false, 11, 0);
  make_base(w, 200);
  RocksCfg cfg;
  cfg.recycle = 1;
  // RocksDB 7.8.3 sanitizes recycle_log_file_num to 0 unless the recovery
  // mode is kSkipAnyCorruptedRecords.
  cfg.mode = rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords;
  rocksdb::Status st;
  rocksdb::DB* d = rdb_open(db, true, cfg, nullptr, &st);
  if (!d) die("rocksdb open: " + st.ToString());
  Batch base = base_batch(w);
  rdb_write(d, base);
  w.next_seq = 1 + w.base_keys.size();
  uint64_t n1 = list_logs(db).back().first;
  // Phase A: into n1, after the base batch.
  w.offset = 0;
  layout_record(&w.offset, base.rep().size(), 11);
  for (int i = 0; i < 6; i++) w.add({w.put(50000 + 1000 * i)});
  w.small_puts(40, 300);
  size_t a_end = w.batches.size();
  for (size_t i = 0; i < a_end; i++) rdb_write(d, w.batches[i]);
  std::string n1_bytes = read_file(db / list_logs(db).back().second);
  if (!d->Flush(rocksdb::FlushOptions()).ok()) die("flush A");
  auto l2 = list_logs(db);
  uint64_t n2 = l2.back().first;
  // Phase B: into n2 (fresh file).
  w.offset = 0;
  w.small_puts(10, 200);
  w.add({w.put(45000), w.del(), w.put(7)});
  w.small_puts(10, 200);
  size_t b_end = w.batches.size();
  for (size_t i = a_end; i < b_end; i++) rdb_write(d, w.batches[i]);
  std::string n2_name = list_logs(db).back().second;
  std::string n2_bytes = read_file(db / n2_name);
  if (!d->Flush(rocksdb::FlushOptions()).ok()) die("flush B");
  auto l3 = list_logs(db);
  uint64_t n3 = l3.back().first;
  std::string n3_name = l3.back().second;
  // Phase C: into n3 (the reused n1 file).
  w.offset = 0;
  w.small_puts(12, 250);
  w.add({w.put(20), w.del(), w.del(), w.put(3000)});
  w.add({w.del()});
  w.pad_to_leftover(11);  // exactly a recyclable header's room: empty FIRST fragment next
  w.add({w.put(60)});
  w.pad_to_leftover(10);  // 10-byte zero trailer
  w.add({w.put(60)});
  w.add({w.put(70000)});
  w.small_puts(8, 250);
  w.add({w.put(40)});
  size_t c_end = w.batches.size();
  for (size_t i = b_end; i < c_end; i++) rdb_write(d, w.batches[i]);
  auto bsC = ptrs(w.batches, b_end, c_end);
  uint64_t c_size = bsC.back()->frags.back().off + 11 + bsC.back()->frags.back().len;
  // Copy while open: Close() may trim the file to its written size.
  std::string n3_bytes = read_file(db / n3_name);
  fs::path tmpl = c.work / "rocksdb-recycle-template";
  copy_dir_flat(db, tmpl);
  fprintf(stderr, "recycle: n1=%llu (%zu bytes) n2=%llu n3=%llu; n3 file %zu bytes, new data %llu bytes\n",
          (unsigned long long)n1, n1_bytes.size(), (unsigned long long)n2, (unsigned long long)n3, n3_bytes.size(),
          (unsigned long long)c_size);
  fprintf(stderr, "recycle: logs while open:");
  for (auto& l : list_logs(db)) fprintf(stderr, " %s", l.second.c_str());
  fprintf(stderr, "\n");
  st = d->Close();
  delete d;
  std::string n3_after_close = fs::exists(db / n3_name) ? read_file(db / n3_name) : std::string("<missing>");
  fprintf(stderr, "recycle: after Close the n3 file has %zu bytes\n", n3_after_close.size());
  if (n3_bytes.size() <= c_size) die("recycle: no stale tail (file not reused?)");
  if (n3_bytes.compare(c_size, std::string::npos, n1_bytes, c_size, std::string::npos) != 0)
    die("recycle: tail of n3 is not n1's stale bytes");
  auto bsA = ptrs(w.batches, 0, a_end);
  auto bsB = ptrs(w.batches, a_end, b_end);
  uint64_t a_size = bsA.back()->frags.back().off + 11 + bsA.back()->frags.back().len;
  uint64_t b_size = bsB.back()->frags.back().off + 11 + bsB.back()->frags.back().len;
  if (a_size != n1_bytes.size() || b_size != n2_bytes.size()) die("recycle: simulated sizes differ");

  fs::path out = c.out / "rocksdb-recycle";
  fs::create_directories(out);
  write_file(out / n2_name, n2_bytes);
  write_file(out / n3_name, n3_bytes);
  write_expected(out / (n2_name + ".expected.txt"),
                 {"rocksdb 7.8.3", n2_name, n2, true, "none", "recycle_log_file_num=1; fresh file, recyclable format"},
                 n2_bytes.size(), bsB);
  std::string note = "recycle_log_file_num=1; reuses the file of log " + std::to_string(n1) +
                     "; bytes from offset " + std::to_string(c_size) + " on are stale records of log " +
                     std::to_string(n1) + " (batches with seq " + std::to_string(bsA.front()->seq) + ".." +
                     std::to_string(bsA.back()->seq) + ")";
  write_expected(out / (n3_name + ".expected.txt"), {"rocksdb 7.8.3", n3_name, n3, true, "none", note},
                 n3_bytes.size(), bsC);
  std::string side = "log " + n2_name + " " + std::to_string(n2) + " fresh\n" + "log " + n3_name + " " +
                     std::to_string(n3) + " reused_from " + std::to_string(n1) + " live_bytes " +
                     std::to_string(c_size) + " file_size " + std::to_string(n3_bytes.size()) + "\n";
  write_file(out / "lognumbers.txt", side);

  // Outcomes: the reused file as found, and simple damages on it.
  std::vector<Damage> damages;
  damages.push_back({"none", "reused file as found (live records of the current log, stale tail of an older log)", {}});
  damages.push_back({"stale-tail-cut", "file truncated to its live bytes (stale tail removed)", {{"truncate", c_size}}});
  uint64_t blk_end = (c_size + kBlock - 1) / kBlock * kBlock;
  damages.push_back({"stale-tail-block-rest", "file truncated at the end of the block holding the end of the live bytes (only the rest of that block is stale)",
                     {{"truncate", blk_end}}});
  damages.push_back({"stale-tail-zeroed", "stale tail zeroed (file size kept)", {{"zero_range", c_size, n3_bytes.size()}}});
  const Batch* m = bsC[bsC.size() / 3];
  damages.push_back({"bitflip-mid-payload", "one bit flipped in the payload of a live record mid-file",
                     {{"flip_bit", m->frags[0].off + 11 + m->frags[0].len / 2, 3}}});
  damages.push_back({"lognum-mismatch-mid", "log-number field (header bytes 7..10) of a live mid-file record changed by flipping bit 0 of byte 7",
                     {{"flip_bit", m->frags[0].off + 7, 0}}});
  rocks_outcomes(c, "rocksdb-recycle", tmpl, n3_name, n3_bytes, cfg, w, bsC, damages,
                 "rocksdb-recycle/" + n3_name);
}

static void rocksdb_zstd_fixture(const Ctx& c) {
  fs::path db = c.work / "rocksdb-zstd-db";
  fs::remove_all(db);
  Workload w(0x25D, true, 0, 0);
  make_base(w, 200);
  RocksCfg cfg;
  cfg.zstd = true;
  rocksdb::Status st;
  rocksdb::DB* d = rdb_open(db, true, cfg, nullptr, &st);
  if (!d) die("rocksdb open: " + st.ToString());
  rdb_write(d, base_batch(w));
  if (!d->Flush(rocksdb::FlushOptions()).ok()) die("flush");
  w.next_seq = 1 + w.base_keys.size();
  w.add({w.put(0)});
  w.small_puts(20, 300);
  w.add({w.put(10), w.del(), w.put(200), w.del()});
  w.add({w.del()});
  w.add({w.put(200000)});
  w.small_puts(10, 2000);
  w.add({w.put(60000), w.put(60000), w.del()});
  w.compressible = false;
  w.add({w.put(30000)});  // incompressible value
  w.small_puts(5, 300);
  w.compressible = true;
  w.add({w.put(100000)});
  w.add({w.put(50)});
  for (auto& b : w.batches) rdb_write(d, b);
  st = d->Close();
  delete d;
  check_nonempty_only_logs(db, "rocksdb-zstd");
  auto logs = list_logs(db);
  std::string wal = read_file(db / logs[0].second);
  if (wal.size() < 16 || uint8_t(wal[6]) != 9) die("rocksdb-zstd: first record is not type 9 (SetCompressionType)");
  fs::path out = c.out / "rocksdb-zstd";
  fs::create_directories(out);
  write_file(out / logs[0].second, wal);
  write_expected(out / (logs[0].second + ".expected.txt"),
                 {"rocksdb 7.8.3", logs[0].second, logs[0].first, false, "zstd", "wal_compression=kZSTD"}, wal.size(),
                 ptrs(w.batches));
  // Pristine replay check.
  fs::path tmpl = c.work / "rocksdb-zstd-template";
  copy_dir_flat(db, tmpl);
  RocksRun r = rocks_case(tmpl, c.work, logs[0].second, wal, cfg, w, ptrs(w.batches));
  if (!r.ok || r.e.full.size() != w.batches.size()) die("rocksdb-zstd: pristine replay incomplete");
  // Recovery of damaged copies: checksums and framing work on the
  // compressed bytes; RocksDB decompresses fragment by fragment.
  rocks_outcomes(c, "rocksdb-zstd", tmpl, logs[0].second, wal, cfg, w, ptrs(w.batches), make_damages_walked(wal),
                 "rocksdb-zstd/" + logs[0].second);
}

// Fresh recyclable log with zstd compression: shows how RocksDB 7.8.3 frames
// the SetCompressionType record in a recyclable log.
static void rocksdb_recycle_zstd_fixture(const Ctx& c) {
  fs::path db = c.work / "rocksdb-recycle-zstd-db";
  fs::remove_all(db);
  Workload w(0x2EC25D, true, 0, 1);
  make_base(w, 20);
  RocksCfg cfg;
  cfg.recycle = 1;
  cfg.zstd = true;
  cfg.mode = rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords;
  rocksdb::Status st;
  rocksdb::DB* d = rdb_open(db, true, cfg, nullptr, &st);
  if (!d) die("rocksdb open: " + st.ToString());
  w.small_puts(10, 300);
  w.add({w.put(5), w.del(), w.put(1000)});
  w.add({w.put(90000)});
  w.compressible = false;
  w.add({w.put(40000)});
  w.compressible = true;
  w.add({w.put(30)});
  for (auto& b : w.batches) rdb_write(d, b);
  st = d->Close();
  delete d;
  check_nonempty_only_logs(db, "rocksdb-recycle-zstd");
  auto logs = list_logs(db);
  std::string wal = read_file(db / logs[0].second);
  if (wal.size() < 16 || uint8_t(wal[6]) != 9) die("rocksdb-recycle-zstd: first record is not type 9");
  fs::path out = c.out / "rocksdb-recycle-zstd";
  fs::create_directories(out);
  write_file(out / logs[0].second, wal);
  write_expected(out / (logs[0].second + ".expected.txt"),
                 {"rocksdb 7.8.3", logs[0].second, logs[0].first, true, "zstd",
                  "recycle_log_file_num=1, wal_compression=kZSTD; fresh file"},
                 wal.size(), ptrs(w.batches));
  fs::path tmpl = c.work / "rocksdb-recycle-zstd-template";
  copy_dir_flat(db, tmpl);
  RocksRun r = rocks_case(tmpl, c.work, logs[0].second, wal, cfg, w, ptrs(w.batches));
  if (!r.ok || r.e.full.size() != w.batches.size()) die("rocksdb-recycle-zstd: pristine replay incomplete: " + r.status);
}

// ------------------------------------------------------------- subcommands

static int cmd_all(int argc, char** argv) {
  if (argc != 4) die("usage: gen all OUTDIR WORKDIR");
  Ctx c{argv[2], argv[3]};
  fs::create_directories(c.out);
  fs::create_directories(c.work);
  leveldb_fixture(c);
  rocksdb_default_fixture(c);
  rocksdb_recycle_fixture(c);
  rocksdb_zstd_fixture(c);
  rocksdb_recycle_zstd_fixture(c);
  printf("%s", g_tables.c_str());
  return 0;
}

static int cmd_mkdb(int argc, char** argv) {
  if (argc != 4) die("usage: gen mkdb leveldb|rocksdb|rocksdb-recycle DIR");
  std::string eng = argv[2];
  fs::path dir = argv[3];
  if (eng == "leveldb") {
    leveldb::Status st;
    leveldb::DB* d = ldb_open(dir, true, false, &st);
    if (!d) die("open: " + st.ToString());
    delete d;
  } else if (eng == "rocksdb" || eng == "rocksdb-recycle") {
    RocksCfg cfg;
    cfg.recycle = eng == "rocksdb-recycle" ? 1 : 0;
    rocksdb::Status st;
    rocksdb::DB* d = rdb_open(dir, true, cfg, nullptr, &st);
    if (!d) die("open: " + st.ToString());
    st = d->Close();
    delete d;
  } else {
    die("unknown engine " + eng);
  }
  auto logs = list_logs(dir);
  if (logs.size() != 1) die("expected exactly one log file in " + dir.string());
  printf("wal %s %llu\n", logs[0].second.c_str(), (unsigned long long)logs[0].first);
  return 0;
}

static int cmd_dump(int argc, char** argv) {
  if (argc < 4) die("usage: gen dump leveldb|rocksdb DIR [MODE] [recycle=N] [zstd]");
  std::string eng = argv[2];
  fs::path dir = argv[3];
  std::string mode = argc >= 5 ? argv[4] : "";
  std::map<std::string, std::string> kv;
  if (eng == "leveldb") {
    if (!mode.empty() && mode != "lenient" && mode != "paranoid") die("leveldb mode: lenient|paranoid");
    leveldb::Status st;
    leveldb::DB* d = ldb_open(dir, false, mode == "paranoid", &st);
    if (!d) {
      printf("open error %s\n", st.ToString().c_str());
      return 2;
    }
    printf("open ok\n");
    kv = ldb_scan(d);
    delete d;
  } else if (eng == "rocksdb") {
    RocksCfg cfg;
    if (mode == "tolerate") cfg.mode = kModes[0];
    else if (mode == "absolute") cfg.mode = kModes[1];
    else if (mode == "pit" || mode.empty()) cfg.mode = kModes[2];
    else if (mode == "skip") cfg.mode = kModes[3];
    else die("rocksdb mode: tolerate|absolute|pit|skip");
    for (int i = 5; i < argc; i++) {
      std::string a = argv[i];
      if (a.rfind("recycle=", 0) == 0) cfg.recycle = std::stoul(a.substr(8));
      else if (a == "zstd") cfg.zstd = true;
      else die("unknown option " + a);
    }
    RecordingFilter f;
    f.print = true;
    rocksdb::Status st;
    // GEN_NO_WAL_FILTER=1 opens without the recording WalFilter (no batch lines).
    const char* nf = getenv("GEN_NO_WAL_FILTER");
    rocksdb::DB* d = rdb_open(dir, false, cfg, nf && *nf == '1' ? nullptr : &f, &st);
    if (!d) {
      printf("open error %s\n", st.ToString().c_str());
      return 2;
    }
    printf("open ok\n");
    printf("latest_seq %llu\n", (unsigned long long)d->GetLatestSequenceNumber());
    kv = rdb_scan(d);
    d->Close();
    delete d;
  } else {
    die("unknown engine " + eng);
  }
  for (auto& p : kv) printf("kv %s %s\n", hex(p.first).c_str(), p.second.empty() ? "=" : hex(p.second).c_str());
  printf("count %zu\n", kv.size());
  return 0;
}

// A database whose directory keeps several WAL files, numbers skipping
// (every flush writes an SST and the MANIFEST moves on, sharing the
// counter). Default: two column families, so that flushing "default" alone
// switches to a new WAL but keeps the old ones (the other family's data is
// only in them); flushing both makes them obsolete and RocksDB purges them.
// With recycle (one column family: 7.8.3 crashes in MarkLogsSynced when a
// database of several families recycles WALs): each flush makes the
// previous WAL obsolete, kept to be reused; the next switch renames it to
// the new number and writes over it, its stale records behind the new
// ones; the last round writes less than the file held, and DIR.open is a
// copy of the directory taken before Close, as a crash would leave it,
// since Close trims the file). Each batch's WAL file is the newest one
// when it is written.
static int cmd_waldir(int argc, char** argv) {
  if (argc < 3 || argc > 4 || (argc == 4 && std::string(argv[3]) != "recycle"))
    die("usage: gen waldir DIR [recycle]");
  fs::path dir = argv[2];
  bool recycle = argc == 4;
  rocksdb::Options o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  if (recycle) {
    o.recycle_log_file_num = 1;
    // 7.8.3 keeps recycling on only in this mode.
    o.wal_recovery_mode = rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords;
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(o)}};
  if (!recycle) cfs.push_back({"b", rocksdb::ColumnFamilyOptions(o)});
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  rocksdb::DB* db = nullptr;
  rocksdb::Status st = rocksdb::DB::Open(rocksdb::DBOptions(o), dir.string(), cfs, &h, &db);
  if (!st.ok()) die("open: " + st.ToString());
  Rng rng(0x3A1D1E);
  struct Written { uint64_t file, seq; uint32_t count; };
  std::vector<Written> written;
  int key = 0;
  auto write = [&](int n) {
    for (int i = 0; i < n; i++) {
      rocksdb::WriteBatch wb;
      int ops = 1 + int(rng.below(4));
      for (int j = 0; j < ops; j++) {
        std::string k = "key" + std::to_string(key++);
        std::string v = rng.bytes(size_t(rng.below(5) == 0 ? 40000 : 10 + rng.below(900)));
        st = wb.Put(h[rng.below(h.size())], k, v);
        if (!st.ok()) die("batch: " + st.ToString());
      }
      uint64_t seq = db->GetLatestSequenceNumber() + 1;
      st = db->Write(rocksdb::WriteOptions(), &wb);
      if (!st.ok()) die("write: " + st.ToString());
      written.push_back({list_logs(dir).back().first, seq, uint32_t(ops)});
    }
  };
  auto flush = [&](rocksdb::ColumnFamilyHandle* cf) {
    st = db->Flush(rocksdb::FlushOptions(), cf);
    if (!st.ok()) die("flush: " + st.ToString());
  };
  std::vector<uint64_t> seen;
  auto note = [&]() {
    for (auto& l : list_logs(dir))
      if (std::find(seen.begin(), seen.end(), l.first) == seen.end()) seen.push_back(l.first);
  };
  note();
  if (recycle) {
    for (int round = 0; round < 4; round++) {
      write(30); flush(h[0]); note();
    }
  } else {
    write(30); flush(h[0]); note();
    write(30); flush(h[0]); note();
    write(30); flush(h[0]); flush(h[1]); note();  // the WALs so far are obsolete: purged
    write(30); flush(h[0]); note();
    write(30); flush(h[0]); note();
  }
  write(recycle ? 8 : 30);
  note();
  if (recycle) {
    // No flush or compaction may delete or rename files while they are copied.
    st = db->PauseBackgroundWork();
    if (!st.ok()) die("pause: " + st.ToString());
    copy_dir_flat(dir, dir.string() + ".open");
    st = db->ContinueBackgroundWork();
    if (!st.ok()) die("continue: " + st.ToString());
  }
  for (auto* c : h) db->DestroyColumnFamilyHandle(c);
  st = db->Close();
  if (!st.ok()) die("close: " + st.ToString());
  delete db;
  auto logs = list_logs(dir);
  for (auto& w : written) {
    bool kept = std::any_of(logs.begin(), logs.end(), [&](auto& l) { return l.first == w.file; });
    if (kept) printf("batch %06llu.log %llu %u\n", (unsigned long long)w.file, (unsigned long long)w.seq, w.count);
  }
  size_t purged = 0;
  for (uint64_t n : seen)
    if (std::none_of(logs.begin(), logs.end(), [&](auto& l) { return l.first == n; })) purged++;
  printf("purged %zu\n", purged);
  for (auto& l : logs) printf("wal %s\n", l.second.c_str());
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) die("usage: gen all|mkdb|dump|waldir ...");
  std::string cmd = argv[1];
  g_self = fs::read_symlink("/proc/self/exe");
  if (cmd == "all") return cmd_all(argc, argv);
  if (cmd == "mkdb") return cmd_mkdb(argc, argv);
  if (cmd == "dump") return cmd_dump(argc, argv);
  if (cmd == "waldir") return cmd_waldir(argc, argv);
  die("unknown command " + cmd);
}
