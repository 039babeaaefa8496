# Shared shell helpers for scripts/run and scripts/test (sourced, not executed).

# Create .venv if needed and install a requirements file (with the lock in constraints.txt),
# skipping pip when nothing changed since the last install.
ensure_venv() {
  local req=$1
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv with $(python3 --version)"
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
  fi
  local stamp=".venv/.installed-$(basename "$req")"
  local want
  want=$(cat "$req" requirements.txt constraints.txt | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing $req into .venv"
    .venv/bin/python -m pip install --quiet -r "$req" -c constraints.txt
    echo "$want" > "$stamp"
  fi
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() {
  local host=$1 port=$2 what=$3
  for _ in $(seq 1 60); do port_open "$host" "$port" && return 0; sleep 1; done
  echo "!! $what did not come up on $host:$port" >&2
  return 1
}

# Start the Debian-packaged services the test suite uses, if they are down.
ensure_services() {
  if ! port_open 127.0.0.1 5432; then
    echo "==> starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    wait_port 127.0.0.1 5432 PostgreSQL
  fi
  if ! port_open 127.0.0.1 6379; then
    echo "==> starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_port 127.0.0.1 6379 Redis
  fi
  if ! port_open 127.0.0.1 5672; then
    echo "==> starting RabbitMQ"
    rabbitmq-server -detached
    wait_port 127.0.0.1 5672 RabbitMQ
  fi
}

# Playwright drives Debian's chromium; its own browser download does not work offline.
ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    echo "==> installing Debian's chromium"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

# The accessibility tests fetch axe-core from the npm registry with `npm pack` (into
# .cache/axe-core/, checked against its pinned integrity); npm comes from Debian.
ensure_npm() {
  if ! command -v npm >/dev/null; then
    echo "==> installing Debian's npm"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
}
