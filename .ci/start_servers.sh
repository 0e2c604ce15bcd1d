#!/usr/bin/env bash
# Install (when missing) and start the servers the test suite talks to:
#   - PostgreSQL (Debian package `postgresql`), role/password/database `mlts` on 127.0.0.1:5432
#   - Prometheus Pushgateway (Debian package `prometheus-pushgateway`) on 127.0.0.1:9091, and a
#     second one requiring basic auth on 127.0.0.1:9092
#   - Prometheus (Debian package `prometheus`) on 127.0.0.1:9090, scraping the first Pushgateway
#   - headless Chromium and ChromeDriver (Debian packages `chromium`, `chromium-driver`)
#   - model servers, installed only (the tests start them): MLflow and MLServer, each in its own
#     virtualenv under /opt/mltestscore (MLTESTSCORE_MODEL_SERVERS_DIR)
# Idempotent: running it again with everything up changes nothing. Exports nothing: the caller
# (.ci/run) sets MLTESTSCORE_TEST_POSTGRES_URL / MLTESTSCORE_TEST_PUSHGATEWAY_URL /
# MLTESTSCORE_REQUIRE_SERVERS. Meant for CI containers running as root.
set -euo pipefail

PG_ROLE=mlts
PG_PASSWORD=mlts
PG_DB=mlts
PG_HOST=127.0.0.1
PG_PORT=5432
PUSHGATEWAY_ADDR=127.0.0.1:9091
PUSHGATEWAY_BIN=/usr/bin/prometheus-pushgateway
PUSHGATEWAY_LOG=/tmp/mltestscore-pushgateway.log
WAIT_SECONDS=${MLTESTSCORE_SERVER_WAIT_SECONDS:-60}

log() { echo "start_servers: $*"; }
die() { echo "start_servers: ERROR: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    die "must run as root (installs Debian packages, runs pg_ctlcluster and su postgres)"
fi

# --- install --------------------------------------------------------------------------------
missing=()
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
[ -x "$PUSHGATEWAY_BIN" ] || missing+=(prometheus-pushgateway)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || die "apt-get update failed"
    apt-get install -y -q "${missing[@]}" || die "apt-get install ${missing[*]} failed"
else
    log "postgresql and prometheus-pushgateway already installed"
fi

# Is something accepting TCP connections on host:port? (bash's /dev/tcp, no extra tools.)
port_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_port() {  # name host port
    local name=$1 host=$2 port=$3 waited=0
    until port_open "$host" "$port"; do
        if [ "$waited" -ge "$WAIT_SECONDS" ]; then
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "$name is listening on $host:$port"
}

# --- PostgreSQL -----------------------------------------------------------------------------
PG_VERSION=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
[ -n "$PG_VERSION" ] || die "no PostgreSQL server under /usr/lib/postgresql after install"

if ! pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" {found=1} END {exit !found}'; then
    log "creating cluster $PG_VERSION/main on port $PG_PORT"
    pg_createcluster "$PG_VERSION" main --port "$PG_PORT" >/dev/null
fi
cluster_port=$(pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" {print $3}')
[ "$cluster_port" = "$PG_PORT" ] \
    || die "cluster $PG_VERSION/main uses port $cluster_port, expected $PG_PORT (see pg_lsclusters)"
cluster_status=$(pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" {print $4}')
if [ "$cluster_status" != "online" ]; then
    log "starting cluster $PG_VERSION/main"
    pg_ctlcluster "$PG_VERSION" main start \
        || die "pg_ctlcluster $PG_VERSION main start failed; see /var/log/postgresql/postgresql-$PG_VERSION-main.log"
else
    log "cluster $PG_VERSION/main already online"
fi

wait_port PostgreSQL "$PG_HOST" "$PG_PORT" \
    || die "PostgreSQL not listening on $PG_HOST:$PG_PORT after ${WAIT_SECONDS}s; see /var/log/postgresql/postgresql-$PG_VERSION-main.log"
waited=0
until su postgres -c "pg_isready -q -h $PG_HOST -p $PG_PORT"; do
    [ "$waited" -ge "$WAIT_SECONDS" ] && die "PostgreSQL on $PG_HOST:$PG_PORT not accepting connections after ${WAIT_SECONDS}s"
    sleep 1
    waited=$((waited + 1))
done

psql_admin() {  # run one SQL statement as the postgres superuser over the local socket
    su postgres -c "psql -p $PG_PORT -v ON_ERROR_STOP=1 -tAc \"$1\""
}
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" != "1" ]; then
    log "creating role $PG_ROLE"
    psql_admin "CREATE ROLE $PG_ROLE LOGIN PASSWORD '$PG_PASSWORD'" >/dev/null
else
    # Keep the documented password even if someone changed it.
    psql_admin "ALTER ROLE $PG_ROLE LOGIN PASSWORD '$PG_PASSWORD'" >/dev/null
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
    log "creating database $PG_DB owned by $PG_ROLE"
    su postgres -c "createdb -p $PG_PORT -O $PG_ROLE $PG_DB"
fi
# Check the credentials the tests will use, over TCP with the password.
PGPASSWORD=$PG_PASSWORD psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DB" -tAc "SELECT 1" >/dev/null \
    || die "cannot log in as $PG_ROLE to database $PG_DB on $PG_HOST:$PG_PORT with the password"
log "PostgreSQL ready: postgresql://$PG_ROLE:$PG_PASSWORD@$PG_HOST:$PG_PORT/$PG_DB"

# --- Pushgateway ----------------------------------------------------------------------------
pg_host=${PUSHGATEWAY_ADDR%:*}
pg_port_push=${PUSHGATEWAY_ADDR##*:}
if port_open "$pg_host" "$pg_port_push"; then
    log "something already listens on $PUSHGATEWAY_ADDR; assuming it is the Pushgateway"
else
    log "starting the Pushgateway on $PUSHGATEWAY_ADDR (log: $PUSHGATEWAY_LOG)"
    nohup "$PUSHGATEWAY_BIN" --web.listen-address="$PUSHGATEWAY_ADDR" \
        >"$PUSHGATEWAY_LOG" 2>&1 </dev/null &
    disown || true
fi
wait_port Pushgateway "$pg_host" "$pg_port_push" \
    || die "Pushgateway not listening on $PUSHGATEWAY_ADDR after ${WAIT_SECONDS}s; see $PUSHGATEWAY_LOG"
log "Pushgateway ready: http://$PUSHGATEWAY_ADDR"

# --- Reports (HTML report, Prometheus): a Prometheus server, a Pushgateway behind basic auth,
# --- headless Chromium. Prometheus (127.0.0.1:9090) scrapes the Pushgateway above every second,
# --- so tests can push a score and query it back through Prometheus' HTTP API. The second
# --- Pushgateway (127.0.0.1:9092) requires user mlts, password mlts-push (the bcrypt hash below).
PROMETHEUS_ADDR=127.0.0.1:9090
PROMETHEUS_DIR=/tmp/mltestscore-prometheus
PROMETHEUS_LOG=/tmp/mltestscore-prometheus.log
AUTH_PUSHGATEWAY_ADDR=127.0.0.1:9092
AUTH_PUSHGATEWAY_DIR=/tmp/mltestscore-pushgateway-auth
AUTH_PUSHGATEWAY_LOG=/tmp/mltestscore-pushgateway-auth.log
AUTH_PUSHGATEWAY_HASH='$2b$10$97Y/YVVvdsL6x2XdMB1SH.PFL8KJ2G5LvNRtUUoT83hkXCg6SniSG'

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || die "apt-get update failed"
    apt-get install -y -q "${missing[@]}" \
        || die "apt-get install ${missing[*]} failed"
else
    log "prometheus, chromium and chromium-driver already installed"
fi

start_listener() {  # name addr log command...: start the command unless addr already answers
    local name=$1 addr=$2 logfile=$3
    shift 3
    if port_open "${addr%:*}" "${addr##*:}"; then
        log "something already listens on $addr; assuming it is $name"
    else
        log "starting $name on $addr (log: $logfile)"
        nohup "$@" >"$logfile" 2>&1 </dev/null &
        disown || true
    fi
    wait_port "$name" "${addr%:*}" "${addr##*:}" \
        || die "$name not listening on $addr after ${WAIT_SECONDS}s; see $logfile"
}

mkdir -p "$AUTH_PUSHGATEWAY_DIR"
cat >"$AUTH_PUSHGATEWAY_DIR/web.yml" <<YAML
basic_auth_users:
  mlts: '$AUTH_PUSHGATEWAY_HASH'
YAML
start_listener "Pushgateway with basic auth" "$AUTH_PUSHGATEWAY_ADDR" "$AUTH_PUSHGATEWAY_LOG" \
    "$PUSHGATEWAY_BIN" --web.listen-address="$AUTH_PUSHGATEWAY_ADDR" \
    --web.config.file="$AUTH_PUSHGATEWAY_DIR/web.yml"

mkdir -p "$PROMETHEUS_DIR/data"
cat >"$PROMETHEUS_DIR/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 15s
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ["$PUSHGATEWAY_ADDR"]
YAML
start_listener Prometheus "$PROMETHEUS_ADDR" "$PROMETHEUS_LOG" \
    prometheus --config.file="$PROMETHEUS_DIR/prometheus.yml" \
    --storage.tsdb.path="$PROMETHEUS_DIR/data" --storage.tsdb.retention.time=1d \
    --web.listen-address="$PROMETHEUS_ADDR"
log "Prometheus ready: http://$PROMETHEUS_ADDR (scraping the Pushgateway at $PUSHGATEWAY_ADDR)"
log "Chromium: $(chromium --version 2>/dev/null || echo missing)"

# --- Model servers (live serving: models called where they are deployed) ---------------------
# The MLflow scoring server (`mlflow models serve --env-manager local`) and MLServer with its
# scikit-learn runtime, each in its own virtualenv under $MODEL_SERVERS_DIR so that their
# dependencies never meet the suite's. Nothing is started here: the integration tests start a
# server from these installs on a free loopback port with the model they need
# (tests/_model_servers.py). scikit-learn is pinned to the suite's version when the suite's
# Python already has it, so that the models the tests pickle load in the servers.
MODEL_SERVERS_DIR=${MLTESTSCORE_MODEL_SERVERS_DIR:-/opt/mltestscore}
SERVERS_PYTHON=${MLTESTSCORE_SERVERS_PYTHON:-python3}
SKLEARN_SPEC=scikit-learn
suite_sklearn=$("$SERVERS_PYTHON" -c "import sklearn; print(sklearn.__version__)" 2>/dev/null || true)
[ -n "$suite_sklearn" ] && SKLEARN_SPEC="scikit-learn==$suite_sklearn"

install_model_server() {  # name import-check packages...
    local name=$1 check=$2 dir=$MODEL_SERVERS_DIR/$1
    shift 2
    if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "$check" >/dev/null 2>&1 \
        && { [ -z "$suite_sklearn" ] || [ "$("$dir/bin/python" -c 'import sklearn; print(sklearn.__version__)')" = "$suite_sklearn" ]; }; then
        log "$name already installed in $dir"
        return
    fi
    log "installing $name into $dir ($*)"
    mkdir -p "$MODEL_SERVERS_DIR"
    [ -x "$dir/bin/python" ] || "$SERVERS_PYTHON" -m venv "$dir" || die "cannot create the virtualenv $dir"
    "$dir/bin/python" -m pip install -q --upgrade pip >/dev/null || die "pip upgrade in $dir failed"
    "$dir/bin/python" -m pip install -q "$@" || die "pip install $* into $dir failed"
    "$dir/bin/python" -c "$check" || die "$name installed in $dir but does not import"
}
install_model_server mlflow "import mlflow.pyfunc.scoring_server, sklearn" mlflow "$SKLEARN_SPEC"
install_model_server mlserver "import mlserver, mlserver_sklearn" mlserver mlserver-sklearn "$SKLEARN_SPEC"
log "model servers ready: $MODEL_SERVERS_DIR/mlflow/bin/mlflow, $MODEL_SERVERS_DIR/mlserver/bin/mlserver"
