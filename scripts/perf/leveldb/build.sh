#!/bin/sh
# Builds the LevelDB side-by-side harness OUTSIDE the repository.
#
#   scripts/perf/leveldb/build.sh LEVELDB_SRC CRC32C_SRC [OUT_DIR]
#
# LEVELDB_SRC: a checkout of google/leveldb at tag 1.23; CRC32C_SRC: one of
# google/crc32c. Neither is downloaded by this script nor copied into the
# repository: objects and the binary go to OUT_DIR (default
# /tmp/leveldb-bench). -O2, hardware CRC32C (SSE 4.2) through google's crc32c.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ldb=$(cd "$1" && pwd)
crc=$(cd "$2" && pwd)
out=${3:-/tmp/leveldb-bench}
mkdir -p "$out/cfg/port" "$out/cfg/crc32c"
cd "$out"
# The two configuration headers CMake would generate.
cat > cfg/port/port_config.h <<'H'
#define HAVE_FDATASYNC 1
#define HAVE_FULLFSYNC 0
#define HAVE_O_CLOEXEC 1
#define HAVE_CRC32C 1
#define HAVE_SNAPPY 0
H
cat > cfg/crc32c/crc32c_config.h <<'H'
#define BYTE_ORDER_BIG_ENDIAN 0
#define HAVE_BUILTIN_PREFETCH 1
#define HAVE_MM_PREFETCH 1
#define HAVE_SSE42 1
#define HAVE_ARM64_CRC32C 0
#define HAVE_STRONG_GETAUXVAL 1
#define HAVE_WEAK_GETAUXVAL 1
#define CRC32C_TESTS_BUILT_WITH_GLOG 0
H
C="${CXX:-g++} -O2 -std=c++17 -DNDEBUG -DLEVELDB_PLATFORM_POSIX=1 -Icfg -I$ldb -I$ldb/include -I$crc/include"
$C -c "$crc/src/crc32c.cc" -o crc32c.o
$C -c "$crc/src/crc32c_portable.cc" -o crc32c_portable.o
$C -msse4.2 -c "$crc/src/crc32c_sse42.cc" -o crc32c_sse42.o
for f in db/log_writer db/log_reader util/crc32c util/status util/coding util/env; do
    $C -c "$ldb/$f.cc" -o "$(echo $f | tr / _).o"
done
$C "$here/harness.cc" ./*.o -o harness -lpthread
echo "$out/harness"
