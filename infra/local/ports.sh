#!/usr/bin/env bash
# Usage: infra/local/ports.sh VAR=PORT...
# Fails, naming the program that holds it when it can and the variable to set, when
# something already listens on one of the ports (make run: a previous make run, another
# server; on an emulator port, a foreign server would answer the product's DynamoDB or moto
# calls with its own pages). Exit 1 on the first port in use, 0 when all are free.
set -euo pipefail

holder() { # holder PORT: "name (pid N)" of the listener, when ss or lsof can tell
	local port=$1 out
	if command -v ss >/dev/null 2>&1; then
		out="$(ss -ltnpH "sport = :$port" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 (pid \2)/p' | head -n1)"
		[[ -n "$out" ]] && { printf '%s' "$out"; return; }
	fi
	if command -v lsof >/dev/null 2>&1; then
		out="$(lsof -nP -iTCP:"$port" -sTCP:LISTEN -Fpc 2>/dev/null | awk '/^p/{p=substr($0,2)} /^c/{print substr($0,2) " (pid " p ")"; exit}')"
		[[ -n "$out" ]] && { printf '%s' "$out"; return; }
	fi
	printf 'another program'
}

for arg in "$@"; do
	var=${arg%%=*} port=${arg#*=}
	[[ -n "$port" ]] || continue
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		next=$((port + 100))
		printf 'port %s (%s) is in use by %s: stop it, or set %s=%s (make run, make invoke and make doctor take the same variables)\n' \
			"$port" "$var" "$(holder "$port")" "$var" "$next" >&2
		exit 1
	fi
done
