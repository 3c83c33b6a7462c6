#!/usr/bin/env bash
# Starts a real Learning Record Store, Ralph (ralph-malph, file backend), on loopback, for the
# xAPI integration test and CI.
#
#   scripts/lrs/start-ralph.sh [--port PORT] [--dir DIR] [--watch-pid PID]
#
# --port   TCP port on 127.0.0.1 (default: a free one)
# --dir    where Ralph keeps its statements, auth file, log and pid file (default: a new temp
#          dir, removed again by stop-ralph.sh)
# --watch-pid  stop Ralph by itself once process PID is gone (a test run that was killed)
#
# Prints shell assignments on stdout, everything else on stderr:
#   LRS_URL=http://127.0.0.1:PORT/xAPI/  LRS_USER=…  LRS_PASSWORD=…  LRS_DIR=…
# so that `eval "$(scripts/lrs/start-ralph.sh)"` works. Stop it with
#   scripts/lrs/stop-ralph.sh "$LRS_DIR"
#
# The Python venv (pinned in requirements.txt beside this script) is cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/learnlens-venvs/ralph-<hash of requirements.txt> and built
# from nothing when absent (needs python3 with venv, and PyPI).
#
# What Ralph 5.1.0 needs, read from its source (ralph/conf.py, ralph/cli.py):
# - RALPH_AUTH_FILE: the Basic-auth users file that `ralph auth … -w` writes and the server
#   reads (default ~/.config/ralph/auth.json; kept in DIR here);
# - RALPH_RUNSERVER_AUTH_BACKENDS=basic (the default, set explicitly);
# - RALPH_RUNSERVER_BACKEND=fs for `ralph auth` too: importing the API otherwise loads the
#   default Elasticsearch backend and fails;
# - RALPH_APP_DIR: Ralph's history file goes there (kept in DIR);
# - `--fs-default-directory-path`: where the file backend keeps fs_lrs.jsonl.
# `ralph runserver` runs uvicorn with its reloader on; the reloader watches the working
# directory, so Ralph runs in an empty DIR/cwd.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
port=0
dir=""
watch_pid=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --watch-pid) watch_pid="$2"; shift 2 ;;
    *) echo "start-ralph.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

req="$here/requirements.txt"
venvs="${XDG_CACHE_HOME:-$HOME/.cache}/learnlens-venvs"
venv="$venvs/ralph-$(sha256sum "$req" | cut -c1-16)"
mkdir -p "$venvs"
(
  # One build at a time; a half-built venv (no .complete) is rebuilt.
  flock -w 900 9
  if [ ! -f "$venv/.complete" ]; then
    echo "start-ralph.sh: building $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$req" >&2
    touch "$venv/.complete"
  fi
) 9>"$venv.lock"

if [ -z "$dir" ]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/learnlens-ralph.XXXXXX")"
  touch "$dir/.remove-on-stop"
fi
mkdir -p "$dir/data" "$dir/app" "$dir/cwd"
dir="$(cd "$dir" && pwd)"
if [ "$port" = 0 ]; then
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
fi
user="learnlens"
password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"

export RALPH_AUTH_FILE="$dir/auth.json"
export RALPH_APP_DIR="$dir/app"
export RALPH_RUNSERVER_AUTH_BACKENDS=basic
export RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH="$dir/data"
rm -f "$RALPH_AUTH_FILE"
(
  cd "$dir/cwd"
  RALPH_RUNSERVER_BACKEND=fs "$venv/bin/ralph" auth --username "$user" --password "$password" \
    --scope all --agent-ifi-account learnlens http://localhost/learnlens --write-to-disk \
    >"$dir/auth.log" 2>&1
) || { cat "$dir/auth.log" >&2; exit 1; }

cd "$dir/cwd"
# Its own session, so that stop-ralph.sh can end the reloader and the server as one group.
setsid "$venv/bin/ralph" runserver --backend fs --host 127.0.0.1 --port "$port" \
  --fs-default-directory-path "$dir/data" </dev/null >"$dir/ralph.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/ralph.pid"

url="http://127.0.0.1:$port/xAPI/"
ready=""
for _ in $(seq 1 120); do
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  if curl -fsS -o /dev/null -u "$user:$password" -H 'X-Experience-API-Version: 1.0.3' \
    "${url}statements?limit=1" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "start-ralph.sh: Ralph did not become ready on port $port; its log:" >&2
  tail -n 40 "$dir/ralph.log" >&2 || true
  "$here/stop-ralph.sh" "$dir" >&2 || true
  exit 1
fi

if [ -n "$watch_pid" ]; then
  setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -f "$2/ralph.pid" ]; do sleep 2; done
                  [ -f "$2/ralph.pid" ] && "$3/stop-ralph.sh" "$2"' \
    watch "$watch_pid" "$dir" "$here" </dev/null >/dev/null 2>&1 &
fi

echo "start-ralph.sh: Ralph $("$venv/bin/ralph" --version 2>/dev/null | awk '{print $NF}') listening on $url (pid $pid, data in $dir)" >&2
echo "LRS_URL=$url"
echo "LRS_USER=$user"
echo "LRS_PASSWORD=$password"
echo "LRS_DIR=$dir"
