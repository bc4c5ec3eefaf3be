#!/bin/sh
#  bootstrap.sh: install what is missing (Debian 12, as root), then configure
#  and build maas out of tree in build/ (or $MAAS_BUILD_DIR). Idempotent:
#  a second run only rebuilds what changed. Extra arguments go to configure.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${MAAS_BUILD_DIR:-$top/build}

packages="build-essential autoconf automake libtool pkg-config libzmq3-dev libczmq-dev
libmsgpack-dev libhiredis-dev libopenblas-dev libsodium-dev check redis-server valgrind
libjansson-dev libmicrohttpd-dev libgnutls28-dev openssl curl wrk libcurl4-openssl-dev
systemd iproute2
clang libclang-rt-14-dev clang-format
libjansson-dev
python3-zmq python3-msgpack python3-numpy python3-redis python3-pytest python3-tqdm python3-pip
help2man
libhdf5-dev libzip-dev protobuf-c-compiler libprotobuf-c-dev libonnx-dev python3-h5py python3-onnx
python3-torch
"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "bootstrap: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
    autoreconf -fi >/dev/null
fi
mkdir -p "$build"
cd "$build"
stamp="$*"
if [ ! -f Makefile ] || [ "$(cat .maas-configure-args 2>/dev/null)" != "$stamp" ]; then
    "$top/configure" --quiet "$@"
    printf '%s' "$stamp" > .maas-configure-args
fi
make -j"$(nproc)" --no-print-directory
make -j"$(nproc)" --no-print-directory check TESTS= >/dev/null
