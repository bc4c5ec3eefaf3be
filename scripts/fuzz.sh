#!/bin/sh
#  fuzz.sh: libFuzzer targets for every decoder that reads untrusted bytes
#  (tests/fuzz/fuzz_*.c), built with clang and AddressSanitizer + UBSan in
#  build-fuzz/ (or $MAAS_FUZZ_DIR).
#    sh scripts/fuzz.sh build        build the library and every target
#    sh scripts/fuzz.sh run [SECS]   build, then run each target SECS seconds
#                                    (default 20) from its seed corpus
#    sh scripts/fuzz.sh seeds        rewrite tests/fuzz/corpus/ from real
#                                    messages and files
#  A run prints one JSON line per target (executions, corpus size) and fails
#  on the first crash, leak, sanitizer report or timeout, leaving the input
#  that caused it in build-fuzz/crashes/.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${MAAS_FUZZ_DIR:-$top/build-fuzz}
action=${1:-build}
secs=${2:-20}
instrument="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
deps="libczmq libzmq msgpack hiredis openblas libsodium hdf5 libzip jansson libprotobuf-c"
includes="-I$top/shared -I$top/shared/base -I$top/shared/nn -I$top/shared/format -I$top/shared/redis -I$top/shared/wire"

#  The program sources a target's decoder lives in, when not in libmaas.
s_sources () {
    case "$1" in
        fuzz_json_rows) echo "$top/client/json_rows.c" ;;
        fuzz_tensor_in | fuzz_v2_infer) echo "$top/gateway/tensor_in.c" ;;
    esac
}

s_build () {
    command -v clang >/dev/null && [ -n "$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ] || {
        echo "fuzz.sh: needs clang and libclang-rt-14-dev (sh scripts/bootstrap.sh installs them)" >&2
        exit 1
    }
    cd "$top"
    [ -x configure ] || autoreconf -fi >/dev/null
    mkdir -p "$build"
    if [ ! -f "$build/Makefile" ]; then
        (cd "$build" && "$top/configure" --quiet --enable-static --disable-shared CC=clang \
            CFLAGS="$instrument -fsanitize=fuzzer-no-link")
    fi
    make -C "$build" -j"$(nproc)" --no-print-directory libmaas.la worker/libengine.la >/dev/null
    mkdir -p "$build/fuzz"
    for src in "$top"/tests/fuzz/fuzz_*.c; do
        target=$(basename "$src" .c)
        clang -std=c11 -D_GNU_SOURCE $instrument -fsanitize=fuzzer $includes -I"$top/worker" \
            -I"$top/client" -I"$top/gateway" -I"$build" $(pkg-config --cflags $deps) "$src" \
            "$top/tests/fuzz/memfile.c" $(s_sources "$target") "$build/worker/.libs/libengine.a" \
            "$build/.libs/libmaas.a" $(pkg-config --libs $deps) -lhdf5_hl -lm -o "$build/fuzz/$target"
    done
}

#  One JSON seed: TARGET NAME TEXT.
s_json () {
    mkdir -p "$top/tests/fuzz/corpus/$1"
    printf '%s\n' "$3" > "$top/tests/fuzz/corpus/$1/$2.json"
}

s_seeds () {
    s_build
    clang -std=c11 -D_GNU_SOURCE $instrument -fsanitize=fuzzer-no-link $includes -I"$build" \
        "$top/tests/fuzz/seeds.c" "$build/.libs/libmaas.a" \
        /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a \
        $(pkg-config --libs $deps) -lm -lstdc++ -o "$build/fuzz/seeds"
    rm -rf "$top/tests/fuzz/corpus"
    mkdir -p "$top/tests/fuzz/corpus/fuzz_csv" "$top/tests/fuzz/corpus/fuzz_npy"
    "$build/fuzz/seeds" "$top/tests/fuzz/corpus"
    #  importers: the ONNX files tests/check_import.c imports (fuzz_import.c skips HDF5 and zip)
    mkdir -p "$top/tests/fuzz/corpus/fuzz_import"
    models=$(mktemp -d "${TMPDIR:-/tmp}/maas-fuzz-models-XXXXXX")
    /usr/bin/python3 "$top/tests/fixtures/make_import_fixtures.py" "$models" >/dev/null
    for model in gemm.onnx matmul_add.onnx softmax13.onnx conv.onnx; do
        cp "$models/$model" "$top/tests/fuzz/corpus/fuzz_import/"
    done
    rm -rf "$models"
    #  JSON bodies: the CLI's rows and the gateway's TF Serving and KServe v2 requests
    s_json fuzz_json_rows rows '[[1,2,3],[4,5,6]]'
    s_json fuzz_json_rows lines '[1,2,3]
[4.5,-5e3,6]'
    s_json fuzz_json_rows instances '{"instances": [{"x0": 1, "x1": 2, "x2": 3, "label": 0}]}'
    s_json fuzz_json_rows columns '{"inputs": {"x0": [1,3], "x1": [2,4], "x2": [0,1]}}'
    s_json fuzz_tensor_in tfs-rows '{"signature_name": "serving_default", "instances": [[1.5,2,3],[4,5,16777216]]}'
    s_json fuzz_tensor_in tfs-columns '{"inputs": {"x0": [1,3], "x1": [true,false]}}'
    s_json fuzz_tensor_in kserve-v2 '{"id": "1", "inputs": [{"name": "input", "shape": [2,3], "datatype": "FP32", "data": [[1,2,3],[4,5,6]]}]}'
    #  KServe v2 bodies: JSON data, and a JSON header, a NUL, binary FP32 / INT8 values
    s_json fuzz_v2_infer json '{"inputs": [{"name": "x", "shape": [2,3], "datatype": "FP64", "data": [1,2,3,4,5,6]}]}'
    printf '{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","parameters":{"binary_data_size":24}}]}\000' \
        > "$top/tests/fuzz/corpus/fuzz_v2_infer/binary-fp32"
    /usr/bin/python3 -c 'import struct, sys; sys.stdout.buffer.write(struct.pack("<6f", 1, 2, 3, 4, 5, 6))' \
        >> "$top/tests/fuzz/corpus/fuzz_v2_infer/binary-fp32"
    printf '{"inputs":[{"name":"x","shape":[1,3],"datatype":"INT8","parameters":{"binary_data_size":3}}]}\000\001\377\177' \
        > "$top/tests/fuzz/corpus/fuzz_v2_infer/binary-int8"
    #  data set manifests: an HGETALL reply's strings, one per line, as dataset_store.c writes them
    mkdir -p "$top/tests/fuzz/corpus/fuzz_manifest"
    printf 'class_names\nbenign,malignant\nformat\n1\nrows\n455\ncols\n30\ntask\nbinary\nclasses\n2\nlabel\ndiagnosis\ncolumns\nmean_radius,mean_texture,mean_perimeter\nsha256\n%064d\ngen\n1a2b3c\nchunk_bytes\n1048576\nx_chunks\n1\ny_chunks\n1\ncreated_ms\n1764633600000' 0 \
        > "$top/tests/fuzz/corpus/fuzz_manifest/breast_cancer"
    printf 'class_names\n\nformat\n1\nrows\n3\ncols\n2\ntask\nregression\nclasses\n0\nlabel\ny\ncolumns\na,b\nsha256\n%064d\ngen\nff\nchunk_bytes\n16\nx_chunks\n2\ny_chunks\n1\ncreated_ms\n1' 7 \
        > "$top/tests/fuzz/corpus/fuzz_manifest/small_chunks"
    for csv in breast_cancer_test digits_test; do
        head -n 4 "$top/data/$csv.csv" > "$top/tests/fuzz/corpus/fuzz_csv/$csv"
    done
    /usr/bin/python3 -c 'import numpy, sys; numpy.save(sys.argv[1], numpy.arange(12, dtype="<f4").reshape(4, 3)); numpy.save(sys.argv[2], numpy.ones((2, 5), dtype="<f8"))' \
        "$top/tests/fuzz/corpus/fuzz_npy/f32-4x3.npy" "$top/tests/fuzz/corpus/fuzz_npy/f64-2x5.npy"
}

#  One target for SECS seconds from a copy of its corpus: its JSON line on
#  stdout, or its log's tail on stderr and exit 1.
s_one () {
    bin=$1
    target=$(basename "$bin")
    work=$(mktemp -d "${TMPDIR:-/tmp}/maas-fuzz-$target-XXXXXX")
    cp "$top/tests/fuzz/corpus/$target"/* "$work/"
    log="$build/fuzz/$target.log"
    if ! MAAS_LOG_LEVEL=error "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
            -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/crashes/$target-" \
            "$work" > "$log" 2>&1; then
        tail -n 40 "$log" >&2
        rm -rf "$work"
        echo "fuzz: $target FAILED (input in $build/crashes/)" >&2
        return 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "{\"fuzz\":\"$target\",\"seconds\":$secs,\"executions\":${execs:-0},\"corpus\":$(ls "$work" | wc -l)}"
    rm -rf "$work"
}

#  Every target, as many at once as there are cores (each is one process);
#  the lines come out in target order, and any failure fails the run.
s_run () {
    s_build
    mkdir -p "$build/crashes"
    lines=$(mktemp -d "${TMPDIR:-/tmp}/maas-fuzz-lines-XXXXXX")
    running=0
    for bin in "$build"/fuzz/fuzz_*; do
        (s_one "$bin" > "$lines/$(basename "$bin").json" || touch "$lines/failed") &
        running=$((running + 1))
        if [ "$running" -ge "$(nproc)" ]; then
            wait
            running=0
        fi
    done
    wait
    cat "$lines"/*.json
    failed=0
    [ -e "$lines/failed" ] && failed=1
    rm -rf "$lines"
    return "$failed"
}

case "$action" in
    build) s_build ;;
    run) s_run ;;
    seeds) s_seeds ;;
    *) echo "usage: sh scripts/fuzz.sh build|run [SECS]|seeds" >&2; exit 2 ;;
esac
