#!/usr/bin/env bash
# Usage: infra/local/schemathesis.sh [extra schemathesis run options]
#
# Runs schemathesis (.venv, infra/local/requirements.txt) against the local product with
# openapi.yaml: builds bin/kyc-local, starts it under with-emulators.sh on free ports, waits
# for its `ready` line, takes a token of the local issuer (GET /_local/token) for the app
# routes, and runs the checks below with the webhooks' local credentials (make run's
# defaults; the Veriff bodies are signed by schemathesis/hooks.py). Bounded by
# SCHEMATHESIS_MAX_EXAMPLES per operation (default 40); SCHEMATHESIS_SEED (default 1) and
# SCHEMATHESIS_WORKERS (default 1: with 2, hypothesis 6.x sometimes fails describing a lambda
# across threads, "AST constructor recursion depth mismatch", an error of the tool, not of
# the API) as named. Exit status is schemathesis's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
st="$root/.venv/bin/schemathesis"
python="$root/.venv/bin/python"
[[ -x "$st" ]] || { echo "schemathesis.sh: $st not found: run infra/local/install.sh" >&2; exit 1; }

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export PORT="$(free_port)" IDWISE_SIM_PORT="$(free_port)" VERIFF_SIM_PORT="$(free_port)"
export KYC_DYNAMODB_PORT="$(free_port)" KYC_MOTO_PORT="$(free_port)"
export IDWISE_WEBHOOK_AUTH=bearer
export IDWISE_WEBHOOK_SECRET="${IDWISE_WEBHOOK_SECRET:-local-webhook-secret}"
export VERIFF_API_KEY="${VERIFF_API_KEY:-local-veriff-api-key}"
export VERIFF_SHARED_SECRET="${VERIFF_SHARED_SECRET:-local-veriff-shared-secret}"
unset IDWISE_ALLOWED_CIDRS
# One user sends every request: hourly limits high enough that valid requests reach the
# handlers' logic rather than 429 (still counted, still bounded).
export KYC_PARAMETER_OVERRIDES="${KYC_PARAMETER_OVERRIDES:-JourneyClaimsPerHour=10000 DeviceRegistrationsPerHour=10000 VeriffSessionsPerHour=1000 VeriffCallbackHosts=app.example.test}"

"${GO:-go}" build -o bin/kyc-local ./infra/local/run
log="$(mktemp -t kyc-schemathesis.XXXXXX)"
set -m
infra/local/with-emulators.sh bin/kyc-local >"$log" 2>&1 &
runner=$!
set +m
cleanup() {
	kill -TERM "$runner" 2>/dev/null || true
	wait "$runner" 2>/dev/null || true
	rm -f "$log"
}
trap cleanup EXIT

base=""
for ((i = 0; i < 240; i++)); do
	if line="$(grep -m1 '^ready ' "$log")"; then
		base="${line#ready }"
		break
	fi
	kill -0 "$runner" 2>/dev/null || break
	sleep 0.5
done
if [[ -z "$base" ]]; then
	echo "schemathesis.sh: the local product did not start:" >&2
	tail -n 40 "$log" >&2
	exit 1
fi

referenceNo=schemathesis-user-1
KYC_TOKEN="$(curl -fsS "$base/_local/token?referenceNo=$referenceNo")"
export KYC_TOKEN KYC_REFERENCE_NO="$referenceNo"

export SCHEMATHESIS_HOOKS=hooks
export PYTHONPATH="$here/schemathesis${PYTHONPATH:+:$PYTHONPATH}"
"$st" --config-file "$here/schemathesis/schemathesis.toml" run openapi.yaml \
	--url "$base" \
	--checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,response_headers_conformance,positive_data_acceptance,negative_data_rejection \
	--max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-40}" \
	--seed "${SCHEMATHESIS_SEED:-1}" \
	--workers "${SCHEMATHESIS_WORKERS:-1}" \
	--no-color \
	--suppress-health-check all \
	"$@"
