// Side-by-side harness (our code, not LevelDB's): LevelDB 1.23's log::Writer and log::Reader
// in memory, built OUTSIDE the repository by build.sh. Usage: harness SIZE [ITERS] prints the
// median thread-CPU ns per iteration of: write, read, google-crc32c pass; then the record count.
#include <time.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include "db/log_reader.h"
#include "db/log_writer.h"
#include "leveldb/env.h"
#include "util/crc32c.h"

using namespace leveldb;

static double now_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

class MemWritable : public WritableFile {
 public:
  std::string buf;
  Status Append(const Slice& d) override { buf.append(d.data(), d.size()); return Status::OK(); }
  Status Close() override { return Status::OK(); }
  Status Flush() override { return Status::OK(); }
  Status Sync() override { return Status::OK(); }
};

// Zero-copy source: results point into the log.
class MemSeq : public SequentialFile {
 public:
  const std::string* s; size_t pos = 0;
  explicit MemSeq(const std::string* s) : s(s) {}
  Status Read(size_t n, Slice* result, char*) override {
    size_t k = std::min(n, s->size() - pos);
    *result = Slice(s->data() + pos, k); pos += k; return Status::OK();
  }
  Status Skip(uint64_t n) override { pos += n; return Status::OK(); }
};

struct NullReporter : log::Reader::Reporter {
  void Corruption(size_t, const Status&) override { abort(); }
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint8_t next_byte() { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

int main(int argc, char** argv) {
  size_t size = atol(argv[1]);
  int iters = argc > 2 ? atoi(argv[2]) : 30;
  size_t total = 4 << 20;
  size_t count = std::max<size_t>(total / size, 8);
  std::string pool(size * count, 0);
  for (auto& c : pool) c = next_byte();
  std::vector<Slice> recs;
  for (size_t i = 0; i < count; i++) recs.emplace_back(pool.data() + i * size, size);

  MemWritable file;
  file.buf.reserve(pool.size() * 2 + (1 << 20));
  std::vector<double> w, r, c;
  std::string log;
  volatile uint32_t sink = 0;
  for (int it = 0; it < iters; it++) {
    file.buf.clear();
    double t0 = now_ns();
    {
      log::Writer writer(&file);
      for (auto& s : recs) writer.AddRecord(s);
    }
    double t1 = now_ns();
    w.push_back(t1 - t0);
    log = file.buf;

    MemSeq src(&log);
    NullReporter rep;
    t0 = now_ns();
    {
      log::Reader reader(&src, &rep, true, 0);
      Slice rec; std::string scratch; size_t n = 0; size_t bytes = 0;
      while (reader.ReadRecord(&rec, &scratch)) { n++; bytes += rec.size(); }
      if (n != count) abort();
      sink = sink + bytes;
    }
    t1 = now_ns();
    r.push_back(t1 - t0);

    t0 = now_ns();
    uint32_t acc = 0;
    for (auto& s : recs)
      for (size_t off = 0; off < s.size(); off += 32761)
        acc ^= crc32c::Value(s.data() + off, std::min<size_t>(32761, s.size() - off));
    t1 = now_ns();
    sink = sink + acc;
    c.push_back(t1 - t0);
  }
  auto med = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
  printf("%.0f %.0f %.0f %zu\n", med(w), med(r), med(c), count);
}
