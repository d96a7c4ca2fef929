#!/usr/bin/env bash
# Usage: infra/local/with-emulators.sh CMD [ARGS...]
#
# Starts DynamoDB Local (in memory) and moto_server on free loopback ports, waits until both
# answer, runs CMD with the AWS SDK's standard variables pointing at them, and stops both when
# CMD exits (or on SIGINT/SIGTERM, which are forwarded to CMD). Exit status is CMD's.
#
# Exported to CMD:
#   AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_DYNAMODB_STREAMS   DynamoDB Local
#   AWS_ENDPOINT_URL                                               moto (SNS, SQS, Secrets Manager, S3, ...)
#   AWS_REGION=AWS_DEFAULT_REGION=us-east-1, AWS_ACCESS_KEY_ID=AWS_SECRET_ACCESS_KEY=local,
#   KYC_EMULATORS=1; AWS_PROFILE and AWS_SESSION_TOKEN are unset.
# Nesting: when KYC_EMULATORS=1 and the endpoints are already set, CMD is exec'd as is.
#
# CMD runs in its own process group (so that it does not inherit the ignored SIGINT of a
# background job); it should not read from the terminal.
# Logs: infra/local/.run/<pid>/{dynamodb-local,moto}.log, kept only when start-up or CMD fails.
# KYC_EMULATOR_TIMEOUT (seconds, default 60) bounds the start-up wait.
# KYC_DYNAMODB_PORT / KYC_MOTO_PORT fix the ports (default: free ports picked by the kernel).
# Needs infra/local/install.sh to have run.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

if [[ "${KYC_EMULATORS:-}" == 1 && -n "${AWS_ENDPOINT_URL_DYNAMODB:-}" && -n "${AWS_ENDPOINT_URL:-}" ]]; then
	exec "$@"
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="$root/.venv/bin/python"
moto_server="$root/.venv/bin/moto_server"
ddb_lib="$root/.cache/dynamodb-local/lib"
timeout="${KYC_EMULATOR_TIMEOUT:-60}"

die() { printf 'with-emulators.sh: error: %s\n' "$*" >&2; exit 1; }

[[ -x "$python" && -x "$moto_server" ]] || die "$moto_server not found: run infra/local/install.sh"
compgen -G "$ddb_lib/DynamoDBLocal-*.jar" >/dev/null || die "DynamoDB Local not found in $ddb_lib: run infra/local/install.sh"
command -v java >/dev/null 2>&1 || die "java not found on PATH (DynamoDB Local needs Java 17+)"

run_dir="$here/.run/$$"
mkdir -p "$run_dir"

ddb_pid=""
moto_pid=""
cmd_pid=""
signalled=0
interrupted=0
status=1

# stop PID: terminate the process group led by PID (started under `set -m`), then kill it.
stop() {
	local pid=$1 i
	[[ -n "$pid" ]] || return 0
	kill -TERM -- "-$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 -- "-$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	stop "$cmd_pid"
	stop "$moto_pid"
	stop "$ddb_pid"
	if [[ $rc -eq 0 || $interrupted -eq 1 ]]; then
		rm -rf "$run_dir"
	else
		printf 'with-emulators.sh: emulator logs kept in %s\n' "$run_dir" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT

on_signal() { # on_signal NAME NUMBER
	signalled=1
	interrupted=1
	if [[ -n "$cmd_pid" ]]; then
		kill -s "$1" -- "-$cmd_pid" 2>/dev/null || true
	else
		exit $((128 + $2))
	fi
}
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM
trap 'on_signal HUP 1' HUP

# Two free loopback ports, chosen by the kernel (a small race with other programs is possible;
# a port taken in between shows up as an emulator that exits at start-up).
read -r ddb_port moto_port < <("$python" - <<'EOF'
import socket
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*(s.getsockname()[1] for s in socks))
EOF
)
[[ "$ddb_port" =~ ^[0-9]+$ && "$moto_port" =~ ^[0-9]+$ ]] || die "could not pick free loopback ports"
# Fixed ports on request (make run uses them so that `sam local invoke` and the AWS CLI can
# be pointed at the emulators from another terminal).
ddb_port="${KYC_DYNAMODB_PORT:-$ddb_port}"
moto_port="${KYC_MOTO_PORT:-$moto_port}"
# A server already on a fixed port would answer in the emulator's place (DescribeTable ...
# 501, "invalid character '<'"): refuse to start, naming it.
"$here/ports.sh" KYC_DYNAMODB_PORT="${KYC_DYNAMODB_PORT:-}" KYC_MOTO_PORT="${KYC_MOTO_PORT:-}" ||
	die "an emulator port is taken (above)"

# Each emulator leads its own process group (set -m) so that stop() reaches its children and
# a terminal's Ctrl-C reaches only this script, which then stops everything in order.
set -m
(
	cd "$run_dir"
	exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
		-Dsqlite4java.library.path="$ddb_lib" -cp "$ddb_lib/*" \
		software.amazon.dynamodb.services.local.main.ServerRunner \
		-inMemory -sharedDb -disableTelemetry -port "$ddb_port"
) >"$run_dir/dynamodb-local.log" 2>&1 </dev/null &
ddb_pid=$!
"$moto_server" -H 127.0.0.1 -p "$moto_port" >"$run_dir/moto.log" 2>&1 </dev/null &
moto_pid=$!
set +m

ddb_url="http://127.0.0.1:$ddb_port"
moto_url="http://127.0.0.1:$moto_port"

# answers URL: true once anything speaks HTTP on URL (any status code).
answers() {
	"$python" - "$1" <<'EOF'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass
except Exception:
    sys.exit(1)
EOF
}

fail_start() { # fail_start NAME LOG REASON
	printf 'with-emulators.sh: error: %s %s; last lines of %s:\n' "$1" "$3" "$2" >&2
	tail -n 20 "$2" >&2 || true
	exit 1
}

deadline=$((SECONDS + timeout))
ddb_up=0
moto_up=0
while ((ddb_up == 0 || moto_up == 0)); do
	kill -0 "$ddb_pid" 2>/dev/null || fail_start "DynamoDB Local" "$run_dir/dynamodb-local.log" "exited during start-up"
	kill -0 "$moto_pid" 2>/dev/null || fail_start "moto_server" "$run_dir/moto.log" "exited during start-up"
	((ddb_up == 1)) || ! answers "$ddb_url" || ddb_up=1
	((moto_up == 1)) || ! answers "$moto_url/moto-api/" || moto_up=1
	if ((SECONDS >= deadline)); then
		((ddb_up == 1)) || fail_start "DynamoDB Local" "$run_dir/dynamodb-local.log" "did not answer on $ddb_url within ${timeout}s"
		fail_start "moto_server" "$run_dir/moto.log" "did not answer on $moto_url within ${timeout}s"
	fi
	((ddb_up == 1 && moto_up == 1)) || sleep 0.1
done

export AWS_ENDPOINT_URL_DYNAMODB="$ddb_url"
export AWS_ENDPOINT_URL_DYNAMODB_STREAMS="$ddb_url"
export AWS_ENDPOINT_URL="$moto_url"
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local
export AWS_SECRET_ACCESS_KEY=local
export AWS_EC2_METADATA_DISABLED=true
export KYC_EMULATORS=1
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN

# CMD keeps this script's stdin (<&0: a background job would otherwise get /dev/null) and gets
# its own process group (set -m), where SIGINT is not ignored as it is for background jobs.
set -m
"$@" <&0 &
cmd_pid=$!
set +m

while :; do
	signalled=0
	if wait "$cmd_pid"; then status=0; else status=$?; fi
	# wait returns early when a trapped signal arrives: keep waiting while CMD is still running.
	((signalled == 1)) && kill -0 "$cmd_pid" 2>/dev/null || break
done
cmd_pid=""
exit "$status"
