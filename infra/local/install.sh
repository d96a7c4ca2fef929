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
	"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" ||
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
	if ! mvn -B -Dstyle.color=never -f "$pom" "$dependency_plugin:copy-dependencies" \
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

install_venv
install_dynamodb_local
install_rie
install_checkov
install_iamcheck
