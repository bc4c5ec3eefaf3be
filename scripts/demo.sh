#!/bin/sh
#  demo.sh: the main job. Installs what is missing, builds, then runs the
#  demo: trains the seed's network on the shipped data and reports.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
MAAS_BUILD_DIR=$top/build "$top/scripts/bootstrap.sh"
exec "$top/build/client/maas" demo --data "$top/data"
