#!/bin/sh
#  demo.sh: the main job. Installs what is missing, builds, then runs maas
#  end to end on a private local stack and leaves nothing running:
#  up → data set → train job (progress bar) → production alias → fan-out
#  scoring of the test set → accuracy and throughput → down.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
MAAS_BUILD_DIR=$top/build "$top/scripts/bootstrap.sh"
maas=$top/build/client/maas

state=$(mktemp -d /tmp/maas-demo-XXXXXX)
export MAAS_STATE_DIR="$state"          # every maas command below finds this stack
unset MAAS_REDIS_URL MAAS_BROKER_FRONTEND
cleanup () {
    "$maas" down --state "$state" >/dev/null 2>&1 || true
    rm -rf "$state"
}
trap cleanup EXIT INT TERM

step () {
    printf '\n\033[1m$ maas %s\033[0m\n' "$*" | sed "s|$state|\$STATE|g"
    "$maas" "$@"
}

step up --workers 2 --trainers 1
step synth "$state/train.csv" "$state/test.csv" --train 100000 --test 20000 --seed 0
step dataset put synth10 "$state/train.csv" --label label
step train seed --data synth10 --layers 64:relu,64:relu,1:sigmoid --loss bce \
    --optimizer adam --lr 0.001 --epochs 10 --batch 32 --seed 0 --wait | tee "$state/train.out"
version=$(sed -n 's/^model seed version \([0-9]*\) published by job \([^ ]*\).*/\1/p' "$state/train.out")
job=$(sed -n 's/^model seed version \([0-9]*\) published by job \([^ ]*\).*/\2/p' "$state/train.out")
[ -n "$version" ] || { echo "demo: the train job did not publish a version" >&2; exit 1; }
step model alias seed production "$version"
step score seed@production --input "$state/test.csv" --output "$state/predictions.npy" --label label
step job "$job"
step ps

cat <<MSG

Everything above ran through the broker, the workers and the trainer; all of
it is in Redis while the stack is up (here it is stopped when the demo ends):
  redis-cli -s $state/redis.sock HGETALL maas:job:$job
  redis-cli -s $state/redis.sock XRANGE maas:events - + COUNT 5
Start your own with: maas up   (then maas --help)
MSG
