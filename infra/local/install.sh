#!/usr/bin/env bash
# Installs the local emulator tooling into ignored folders of the repository:
#   .venv/                      python venv with moto[server] and aws-sam-cli (infra/local/requirements.txt)
#   .cache/dynamodb-local/lib   DynamoDB Local 3.x jars and native sqlite4java (infra/local/dynamodb-local/pom.xml)
#   .cache/bin/aws-lambda-rie   AWS's Lambda Runtime Interface Emulator ($rie_version, `go install`)
#   .cache/checkov-venv/        checkov for make checkov (infra/local/checkov-requirements.txt; its own venv)
#   infra/local/iamcheck/node_modules  @cloud-copilot/iam-simulate for make iamcheck (npm ci of its package-lock.json)
# Idempotent: each part writes a stamp keyed on its pinned versions and is skipped while the
# stamp matches, so a second run takes well under a second.
# Needs: python3 >= 3.10 (or $PYTHON), java >= 17 and mvn on PATH, go (the module's), node >= 18 and npm.
# FORCE=1 reinstalls every part.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

venv="$root/.venv"
ddb_dir="$root/.cache/dynamodb-local"
requirements="$here/requirements.txt"
pom="$here/dynamodb-local/pom.xml"
# The Runtime Interface Emulator: the module proxy serves only pseudo-versions of it (its
# tags are not Go module versions), so the pin is one; bump it with
# `go list -m github.com/aws/aws-lambda-runtime-interface-emulator@latest`.
rie_module="github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
rie_version="v0.0.0-20261030222936-bef5c4ba774d"
rie_dir="$root/.cache/bin"
# Pinned so the result does not depend on the default plugin version of the local mvn.
dependency_plugin="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

log() { printf 'install.sh: %s\n' "$*" >&2; }
exec 3>&2 # progress lines, also while a step's own output goes to a log
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

# stamp_of FILE... prints a key that changes whenever one of the files (the version pins) changes.
stamp_of() {
	local f
	for f in "$@"; do
		printf '%s ' "$(basename "$f")"
		if command -v sha256sum >/dev/null 2>&1; then
			sha256sum <"$f" | cut -d' ' -f1
		else
			shasum -a 256 <"$f" | cut -d' ' -f1
		fi
	done
}

up_to_date() { # up_to_date STAMPFILE KEY
	[[ "${FORCE:-0}" != 1 && -f "$1" && "$(cat "$1")" == "$2" ]]
}

install_venv() {
	local stamp="$venv/.kyc-install-stamp" key python
	python="${PYTHON:-python3}"
	key="$(stamp_of "$requirements")"
	# -x follows the symlink: a venv whose interpreter was removed is reinstalled.
	if up_to_date "$stamp" "$key" && [[ -x "$venv/bin/python" && -x "$venv/bin/moto_server" && -x "$venv/bin/sam" ]]; then
		return 0
	fi

	command -v "$python" >/dev/null 2>&1 ||
		die "$python not found: install Python >= 3.10 (or set PYTHON=/path/to/python3)"
	"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
		die "$("$python" -V 2>&1) is too old: aws-sam-cli needs Python >= 3.10 (set PYTHON=/path/to/python3)"

	log "python venv $venv (moto[server], aws-sam-cli from ${requirements#"$root"/})"
	if [[ ! -x "$venv/bin/python" ]]; then
		"$python" -m venv "$venv" || die "python -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
	fi
	rm -f "$stamp"
	ticking "still installing the python packages" "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" ||
		die "pip install -r ${requirements#"$root"/} failed"
	[[ -x "$venv/bin/moto_server" ]] || die "moto_server missing from $venv/bin after pip install"
	[[ -x "$venv/bin/sam" ]] || die "sam missing from $venv/bin after pip install"
	printf '%s\n' "$key" >"$stamp"
}

install_dynamodb_local() {
	local stamp="$ddb_dir/.kyc-install-stamp" key lib="$ddb_dir/lib"
	key="$(stamp_of "$pom") $dependency_plugin"
	if up_to_date "$stamp" "$key" && compgen -G "$lib/DynamoDBLocal-*.jar" >/dev/null; then
		return 0
	fi

	command -v java >/dev/null 2>&1 ||
		die "java not found: DynamoDB Local 3.x needs Java 17+ (e.g. apt-get install openjdk-17-jre-headless)"
	local java_version
	java_version="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
	[[ "${java_version%%.*}" =~ ^[0-9]+$ && "${java_version%%.*}" -ge 17 ]] ||
		die "java ${java_version:-of unknown version} is too old: DynamoDB Local 3.x needs Java 17+"
	command -v mvn >/dev/null 2>&1 ||
		die "mvn not found: install Apache Maven (e.g. apt-get install maven); it downloads DynamoDB Local from Maven Central"

	log "DynamoDB Local into ${lib#"$root"/} (mvn ${dependency_plugin##*:maven-}:copy-dependencies)"
	rm -f "$stamp"
	rm -rf "$lib.tmp"
	mkdir -p "$ddb_dir"
	# mvn 3.8 prints colour escapes even with -q -B: keep its output in a log, show it on failure.
	if ! ticking "still downloading DynamoDB Local" mvn -B -Dstyle.color=never -f "$pom" "$dependency_plugin:copy-dependencies" \
		-DoutputDirectory="$lib.tmp" -DincludeScope=runtime >"$ddb_dir/mvn.log" 2>&1; then
		tail -n 30 "$ddb_dir/mvn.log" >&2
		die "mvn could not resolve DynamoDB Local (network or Maven Central access?); full log: $ddb_dir/mvn.log"
	fi
	compgen -G "$lib.tmp/DynamoDBLocal-*.jar" >/dev/null || die "DynamoDBLocal jar missing after mvn"
	compgen -G "$lib.tmp/libsqlite4java-linux-amd64-*.so" >/dev/null || die "libsqlite4java-linux-amd64 missing after mvn"
	rm -rf "$lib"
	mv "$lib.tmp" "$lib"
	printf '%s\n' "$key" >"$stamp"
}

install_rie() {
	local stamp="$rie_dir/.aws-lambda-rie-stamp" key="$rie_module@$rie_version"
	if up_to_date "$stamp" "$key" && [[ -x "$rie_dir/aws-lambda-rie" ]]; then
		return 0
	fi
	command -v "${GO:-go}" >/dev/null 2>&1 || die "go not found: the Runtime Interface Emulator is built with go install"
	log "aws-lambda-rie into ${rie_dir#"$root"/} (go install $key)"
	mkdir -p "$rie_dir"
	rm -f "$stamp"
	# Outside the module: the emulator's dependencies stay out of go.mod.
	(cd "$rie_dir" && GOBIN="$rie_dir" GOFLAGS=-mod=mod GO111MODULE=on CGO_ENABLED=0 "${GO:-go}" install "$key") ||
		die "go install $key failed (module proxy access?)"
	[[ -x "$rie_dir/aws-lambda-rie" ]] || die "aws-lambda-rie missing from $rie_dir after go install"
	printf '%s\n' "$key" >"$stamp"
}

# checkov pins its own boto3, pyyaml, ... apart from aws-sam-cli's and moto's: its own venv.
install_checkov() {
	local dir="$root/.cache/checkov-venv" req="$here/checkov-requirements.txt" stamp key python
	stamp="$dir/.kyc-install-stamp"
	python="${PYTHON:-python3}"
	key="$(stamp_of "$req")"
	if up_to_date "$stamp" "$key" && [[ -x "$dir/bin/checkov" ]]; then
		return 0
	fi
	log "checkov venv ${dir#"$root"/} (${req#"$root"/}; a few minutes the first time)"
	if [[ ! -x "$dir/bin/python" ]]; then
		"$python" -m venv "$dir" || die "python -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
	fi
	rm -f "$stamp"
	"$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" ||
		die "pip install -r ${req#"$root"/} failed"
	[[ -x "$dir/bin/checkov" ]] || die "checkov missing from $dir/bin after pip install"
	printf '%s\n' "$key" >"$stamp"
}

# The IAM policy evaluator of make iamcheck, exactly as package-lock.json pins it.
install_iamcheck() {
	local dir="$here/iamcheck" stamp key
	stamp="$dir/node_modules/.kyc-install-stamp"
	key="$(stamp_of "$dir/package.json" "$dir/package-lock.json")"
	if up_to_date "$stamp" "$key" && [[ -d "$dir/node_modules/@cloud-copilot/iam-simulate" ]]; then
		return 0
	fi
	command -v npm >/dev/null 2>&1 || die "npm not found: make iamcheck needs node >= 18 and npm (e.g. apt-get install nodejs npm)"
	log "iam-simulate into ${dir#"$root"/}/node_modules (npm ci)"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
		die "npm ci in ${dir#"$root"/} failed (npm registry access?)"
	printf '%s\n' "$key" >"$stamp"
}

# ticking MESSAGE CMD...: runs CMD, printing MESSAGE with the elapsed time every 10 s (the
# first install is silent otherwise for about a minute).
ticking() {
	local msg=$1 start=$SECONDS pid status
	shift
	"$@" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		if (((SECONDS - start) % 10 == 0)) && kill -0 "$pid" 2>/dev/null; then
			printf 'install.sh: %s (%d s)\n' "$msg" "$((SECONDS - start))" >&3
		fi
	done
	wait "$pid" && status=0 || status=$?
	return "$status"
}

# version_ge FOUND NEEDED: dotted versions, numerically.
version_ge() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -t. -k1,1n -k2,2n -k3,3n | head -n1)" == "$2" ]]; }

# check_prereqs: every tool the parts to install need (and java and go, which make run and
# make test need each time), all problems at once, with the version found and needed,
# before anything is installed.
check_prereqs() {
	local problems=() python="${PYTHON:-python3}" v
	if command -v java >/dev/null 2>&1; then
		v="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
		[[ "${v%%.*}" =~ ^[0-9]+$ && "${v%%.*}" -ge 17 ]] ||
			problems+=("java: ${v:-unknown version} found, 17+ needed (DynamoDB Local runs on it; e.g. apt-get install openjdk-17-jre-headless)")
	else
		problems+=("java: not found on PATH, 17+ needed (DynamoDB Local runs on it; e.g. apt-get install openjdk-17-jre-headless)")
	fi
	if command -v "${GO:-go}" >/dev/null 2>&1; then
		v="$("${GO:-go}" env GOVERSION 2>/dev/null)"
		v="${v#go}"
		version_ge "${v:-0}" 1.26 || problems+=("go: ${v:-unknown version} found, 1.26+ needed (https://go.dev/dl/)")
	else
		problems+=("go: not found on PATH, 1.26+ needed (https://go.dev/dl/)")
	fi
	if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
		v="$(node --version 2>/dev/null)"
		v="${v#v}"
		version_ge "${v:-0}" 18 || problems+=("node: ${v:-unknown version} found, 18+ needed (make iamcheck's IAM evaluator; e.g. apt-get install nodejs npm)")
	else
		problems+=("node/npm: not found on PATH, node 18+ with npm needed (make iamcheck's IAM evaluator; e.g. apt-get install nodejs npm)")
	fi
	if [[ "$1" == 1 ]]; then # the python venv is to be installed
		if command -v "$python" >/dev/null 2>&1; then
			v="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)"
			version_ge "${v:-0}" 3.10 || problems+=("python: $python ${v:-of unknown version} found, 3.10+ needed (aws-sam-cli; or set PYTHON=/path/to/python3)")
		else
			problems+=("python: $python not found on PATH, 3.10+ needed (or set PYTHON=/path/to/python3)")
		fi
	fi
	if [[ "$2" == 1 ]]; then # DynamoDB Local is to be installed
		if command -v mvn >/dev/null 2>&1; then
			v="$(mvn -B -v 2>/dev/null | sed -e 's/\x1b\[[0-9;]*m//g' | sed -n 's/^Apache Maven \([0-9.]*\).*/\1/p' | head -n1)"
			version_ge "${v:-0}" 3 || problems+=("mvn: ${v:-unknown version} found, Apache Maven 3+ needed (e.g. apt-get install maven)")
		else
			problems+=("mvn: not found on PATH, Apache Maven 3+ needed (it downloads DynamoDB Local; e.g. apt-get install maven)")
		fi
	fi
	if ((${#problems[@]})); then
		printf 'install.sh: error: prerequisites missing or too old (nothing was installed):\n' >&2
		printf '  %s\n' "${problems[@]}" >&2
		exit 1
	fi
}

need_venv=0 need_ddb=0 need_rie=0
up_to_date "$venv/.kyc-install-stamp" "$(stamp_of "$requirements")" && [[ -x "$venv/bin/python" && -x "$venv/bin/moto_server" && -x "$venv/bin/sam" ]] || need_venv=1
up_to_date "$ddb_dir/.kyc-install-stamp" "$(stamp_of "$pom") $dependency_plugin" && compgen -G "$ddb_dir/lib/DynamoDBLocal-*.jar" >/dev/null || need_ddb=1
up_to_date "$rie_dir/.aws-lambda-rie-stamp" "$rie_module@$rie_version" && [[ -x "$rie_dir/aws-lambda-rie" ]] || need_rie=1
check_prereqs "$need_venv" "$need_ddb"
if ((need_venv + need_ddb + need_rie)); then
	log "first install (once; then instant): $( ((need_venv)) && printf 'python venv ~40 s; ')$( ((need_ddb)) && printf 'DynamoDB Local ~15 s; ')$( ((need_rie)) && printf 'Runtime Interface Emulator ~15 s')"
fi
install_venv
install_dynamodb_local
install_rie
install_checkov
install_iamcheck
