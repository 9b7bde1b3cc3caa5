#!/bin/sh
# Re-vendors Swagger UI (the npm package swagger-ui-dist) into
# internal/lib/apidocs/swagger-ui: the browser bundle, its stylesheet, their
# licences and the package.json that records the version.
#
#   make apidocs-vendor        (or run this file from anywhere)
#
# To upgrade: set VERSION, set INTEGRITY to the output of
# `npm view swagger-ui-dist@<VERSION> dist.integrity`, run this script, then
# check /api/docs in a browser (README: "API reference") and commit the result.
# The tarball is checked against INTEGRITY before anything is copied.
set -eu

VERSION=5.35.0
INTEGRITY=sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==
FILES="swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE package.json"

dest=$(cd "$(dirname "$0")" && pwd)/swagger-ui
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null)
tarball="$tmp/swagger-ui-dist-$VERSION.tgz"
got=$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tarball")
if [ "$got" != "$INTEGRITY" ]; then
	echo "swagger-ui-dist@$VERSION: integrity $got, pinned $INTEGRITY" >&2
	exit 1
fi
tar -xzf "$tarball" -C "$tmp"
mkdir -p "$dest"
for f in $FILES; do
	cp "$tmp/package/$f" "$dest/$f"
done
echo "vendored swagger-ui-dist@$VERSION into $dest"
