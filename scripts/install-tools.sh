#!/usr/bin/env bash
# Installs every external tool the project needs, at pinned versions, into a cache outside
# the repo (default ~/.cache/platform-runbooks). Idempotent: a tool already built (or already on
# PATH at the right version) is reused. Prints one line per tool with its build time.
#
# Usage: scripts/install-tools.sh [tool...]   (default: all but chromium)
#   tools: temporal helm kwok etcd kubernetes test-server age chromium
# Afterwards the binaries are in "$(scripts/install-tools.sh --bin-dir)".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${PLATFORM_RUNBOOKS_CACHE:-$HOME/.cache/platform-runbooks}
tools=$cache/tools
bin=$tools/bin

TEMPORAL_VERSION=1.5.1
HELM_VERSION=v4.3.1
KWOK_VERSION=v0.8.0
ETCD_VERSION=3.6.14
KUBE_VERSION=v1.37.2
TEST_SERVER_VERSION=1.32.1
AGE_VERSION=v1.3.2

if [ "${1:-}" = "--bin-dir" ]; then echo "$bin"; exit 0; fi

die() { echo "install-tools: $*" >&2; exit 1; }

need_go() {
  command -v go >/dev/null 2>&1 || die "no Go toolchain on PATH. The tools are built from the Go \
module proxy; install Go >= 1.26 (https://go.dev/dl/ or your package manager) and run again."
  export GOMODCACHE=$cache/go/mod GOCACHE=$cache/go/build GOPATH=$cache/go/path
  export CGO_ENABLED=0 GOFLAGS=-modcacherw GOTOOLCHAIN=local
  # The checksum database is not reachable from every machine; wrapper modules commit go.sum.
  export GOSUMDB=${GOSUMDB:-off}
}

# link NAME TARGET: expose TARGET as $bin/NAME
link() { mkdir -p "$bin"; ln -sfn "$2" "$bin/$1"; }

# on_path_matches CMD PATTERN VERSION-ARGS...: true when CMD on PATH prints PATTERN
on_path_matches() {
  local cmd=$1 pattern=$2; shift 2
  local found; found=$(PATH=${PATH//$bin:/} command -v "$cmd" 2>/dev/null) || return 1
  [ "$found" != "$bin/$cmd" ] || return 1
  "$found" "$@" 2>&1 | grep -qF -- "$pattern" || return 1
  link "$cmd" "$found"
}

# run_timed NAME VERSION CMD...: runs the build, printing one progress line with its duration
run_timed() {
  local name=$1 version=$2; shift 2
  local start=$SECONDS log=$tools/logs/$name-$version.log
  mkdir -p "$tools/logs"
  echo "install-tools: building $name $version (log: $log) ..."
  if ! "$@" >"$log" 2>&1; then
    tail -20 "$log" >&2
    die "building $name $version failed; see $log"
  fi
  echo "install-tools: $name $version built in $((SECONDS - start))s"
}

done_line() { echo "install-tools: $1 $2 ready ($3)"; }

# install_go_binary NAME VERSION PACKAGE VERSION-VAR PATTERN VERSION-ARGS...: the cached build, else NAME on
# PATH when `NAME VERSION-ARGS` prints PATTERN, else `go install PACKAGE` with VERSION stamped into VERSION-VAR
install_go_binary() {
  local name=$1 version=$2 package=$3 version_var=$4 pattern=$5; shift 5
  local dir=$tools/$name-$version
  if [ -x "$dir/$name" ]; then link "$name" "$dir/$name"; done_line "$name" "$version" cached; return; fi
  if on_path_matches "$name" "$pattern" "$@"; then done_line "$name" "$version" "on PATH"; return; fi
  need_go
  run_timed "$name" "$version" env GOBIN="$dir" go install -ldflags "-X $version_var=$version" "$package"
  link "$name" "$dir/$name"
}

install_temporal() {
  install_go_binary temporal $TEMPORAL_VERSION "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_VERSION" \
    github.com/temporalio/cli/temporalcli.Version "temporal version $TEMPORAL_VERSION" --version
}

install_helm() {
  install_go_binary helm $HELM_VERSION "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" \
    helm.sh/helm/v4/internal/version.version "$HELM_VERSION" version --short
}

install_kwok() {
  local dir=$tools/kwok-$KWOK_VERSION
  if [ -x "$dir/kwokctl" ] && [ -x "$dir/kwok" ]; then
    link kwok "$dir/kwok"; link kwokctl "$dir/kwokctl"; done_line kwok $KWOK_VERSION cached; return
  fi
  need_go
  run_timed kwok $KWOK_VERSION env GOBIN="$dir" go install \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
  link kwok "$dir/kwok"; link kwokctl "$dir/kwokctl"
}

install_etcd() {
  local dir=$tools/etcd-$ETCD_VERSION
  if [ -x "$dir/etcd" ]; then link etcd "$dir/etcd"; done_line etcd $ETCD_VERSION cached; return; fi
  need_go
  run_timed etcd $ETCD_VERSION bash -c "cd '$here/tools/etcd' && go build -o '$dir/etcd' go.etcd.io/etcd/server/v3"
  link etcd "$dir/etcd"
}

install_kubernetes() {
  local dir=$tools/kubernetes-$KUBE_VERSION
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
  local all=1 c
  for c in "${cmds[@]}"; do [ -x "$dir/$c" ] || all=0; done
  if [ $all = 1 ]; then
    for c in "${cmds[@]}"; do link "$c" "$dir/$c"; done
    done_line kubernetes $KUBE_VERSION cached; return
  fi
  need_go
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local ld="" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  local pkgs=""
  for c in "${cmds[@]}"; do pkgs+=" k8s.io/kubernetes/cmd/$c"; done
  mkdir -p "$dir"
  run_timed kubernetes $KUBE_VERSION bash -c "cd '$here/tools/kubernetes' && \
    go build -tags selinux,notest,grpcnotrace -ldflags '$ld' -o '$dir/' $pkgs"
  for c in "${cmds[@]}"; do link "$c" "$dir/$c"; done
}

# Temporal's time-skipping test server (Java), for workflow tests with long timers.
install_test_server() {
  local dir=$tools/temporal-test-server-$TEST_SERVER_VERSION
  if [ -x "$dir/temporal-test-server" ]; then
    link temporal-test-server "$dir/temporal-test-server"; done_line temporal-test-server $TEST_SERVER_VERSION cached; return
  fi
  command -v java >/dev/null 2>&1 || die "no java on PATH: the time-skipping test server needs Java >= 17"
  command -v mvn >/dev/null 2>&1 || die "no mvn on PATH: Maven fetches the time-skipping test server from Maven Central"
  mkdir -p "$dir/lib"
  run_timed temporal-test-server $TEST_SERVER_VERSION mvn -B -q -f "$here/tools/temporal-test-server/pom.xml" \
    -Dmaven.repo.local="$cache/maven" dependency:copy-dependencies -DoutputDirectory="$dir/lib"
  cat >"$dir/temporal-test-server" <<EOF
#!/usr/bin/env bash
# Runs Temporal's time-skipping test server: temporal-test-server PORT
exec java -cp '$dir/lib/*' io.temporal.testserver.TestServer "\$@"
EOF
  chmod +x "$dir/temporal-test-server"
  link temporal-test-server "$dir/temporal-test-server"
}

# age and age-keygen: the standard tool that decrypts backups without this project (and tests interop).
install_age() {
  local dir=$tools/age-$AGE_VERSION
  if [ -x "$dir/age" ] && [ -x "$dir/age-keygen" ]; then
    link age "$dir/age"; link age-keygen "$dir/age-keygen"; done_line age $AGE_VERSION cached; return
  fi
  need_go
  run_timed age $AGE_VERSION env GOBIN="$dir" go install "filippo.io/age/cmd/...@$AGE_VERSION"
  link age "$dir/age"; link age-keygen "$dir/age-keygen"
}

# Chromium for the Web UI browser test: Debian's package through apt-get (never a browser download
# of its own). Needs root (or an already installed chromium); fails loudly when it cannot install.
install_chromium() {
  local found version
  if found=$(PATH=${PATH//$bin:/} command -v chromium 2>/dev/null) && version=$("$found" --version 2>/dev/null); then
    version=${version#Chromium }; link chromium "$found"; done_line chromium "${version%% *}" "on PATH"; return
  fi
  command -v apt-get >/dev/null 2>&1 || die "no chromium on PATH and no apt-get: install your distribution's chromium package and run again"
  [ "$(id -u)" = 0 ] || die "no chromium on PATH; installing it needs root: sudo apt-get install chromium fonts-liberation"
  run_timed chromium debian env DEBIAN_FRONTEND=noninteractive bash -c \
    'apt-get update && apt-get install -y --no-install-recommends chromium fonts-liberation'
  found=$(command -v chromium) && "$found" --version >/dev/null 2>&1 || die "apt-get installed chromium but 'chromium --version' fails"
  link chromium "$found"
}

# The default set; chromium (apt-get, root) only when named: `npm test` names it.
all=(temporal helm kwok etcd kubernetes test-server age)
selected=("$@"); [ ${#selected[@]} -gt 0 ] || selected=("${all[@]}")
mkdir -p "$tools"
# One installer at a time: concurrent `npm start` and `npm test` must not build twice.
exec 9>"$tools/.lock"
flock 9
for t in "${selected[@]}"; do
  case $t in
    temporal) install_temporal ;;
    helm) install_helm ;;
    kwok) install_kwok ;;
    etcd) install_etcd ;;
    kubernetes) install_kubernetes ;;
    test-server) install_test_server ;;
    age) install_age ;;
    chromium) install_chromium ;;
    *) die "unknown tool '$t' (known: ${all[*]} chromium)" ;;
  esac
done
