#!/usr/bin/env bash
# Stops a Ralph started by start-ralph.sh: scripts/lrs/stop-ralph.sh DIR
# Ends its process group (reloader and server) by the pid file in DIR, then removes DIR if
# start-ralph.sh made it.
set -euo pipefail
dir="${1:?usage: stop-ralph.sh DIR}"
pidfile="$dir/ralph.pid"
if [ -f "$pidfile" ]; then
  pid="$(cat "$pidfile")"
  if [ -n "$pid" ] && kill -0 -- "-$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
fi
if [ -f "$dir/.remove-on-stop" ]; then
  rm -rf "$dir"
fi
