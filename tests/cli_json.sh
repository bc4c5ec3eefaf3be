#!/bin/sh
#  cli_json.sh: every --json output of maas is one JSON object with the keys
#  docs/cli.md promises. Run by check_stack against a stack with no trainer
#  ($MAAS: the maas binary; $MAAS_STATE_DIR: that stack).
set -eu
check () { /usr/bin/python3 -c "import json, sys; d = json.load(sys.stdin); assert $1, d"; }
id=$("$MAAS" train m --data d --layers 1:sigmoid --json | /usr/bin/python3 -c \
    'import json, sys; d = json.load(sys.stdin); assert d["status"] == "submitted"; print(d["id"])')
"$MAAS" job "$id" --json | check "d['id'] == '$id' and d['kind'] == 'train' and d['model'] == 'm' \
    and d['status'] == 'queued' and d['submitted'].endswith('Z') and d['published'] is None"
"$MAAS" jobs --json | check "[j['status'] for j in d['jobs'] if j['id'] == '$id'] == ['queued']"
"$MAAS" ps --json | check "d['total'] == 2 and d['running'] == 2 \
    and [p['role'] for p in d['processes']] == ['redis', 'broker']"
"$MAAS" status --json | check "d['stack']['total'] == 2 and d['unfinished_jobs'] >= 1 \
    and len(d['brokers']) == 1 and d['brokers'][0]['name'].startswith('stack-')"
code=0
"$MAAS" train m --data d --layers 1:sigmoid --wait --timeout 1 --json >"$1/wait.json" || code=$?
[ "$code" = 1 ] || { echo "cli_json: train --wait --timeout exited $code" >&2; exit 1; }
check "d['status'] == 'cancelled' and d['version'] is None" <"$1/wait.json"
"$MAAS" cancel "$id" >/dev/null
echo "cli_json: train, job, jobs, ps, status --json checked"
