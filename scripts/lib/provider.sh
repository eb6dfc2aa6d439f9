# Helpers to run a provider daemon (`akash-provider`) on a wasmd localnet from a script:
# tests/e2e/cli_flow.sh and scripts/bench-daemon.sh.

# free_port: a TCP port of 127.0.0.1 nobody listens on.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    listening "$port" || { echo "$port"; return 0; }
  done
}

# listening PORT: true when something listens on the TCP port.
listening() { ss -Htln "sport = :$1" | grep -q .; }

# provider_config DATA_DIR DEPLOYMENT MNEMONIC_FILE PORT [TOML_LINES]: prints a daemon
# configuration: gateway on 127.0.0.1:PORT (also its registered host URI), the example's rate
# card (a web.yaml unit bids the 1 uakt/s minimum), TOML_LINES among the top-level fields.
provider_config() {
  cat <<EOF
data_dir = "$1"
attributes = ["region=localnet"]
${5:-}

[chain]
kind = "wasmd"
deployment = "$2"
mnemonic_file = "$3"

[gateway]
listen_address = "127.0.0.1:$4"
host_uri = "https://127.0.0.1:$4"

[pricing]
cpu_milli = "0.001"
memory_mib = "0.0005"
storage_gib = "0.01"
bandwidth_mibps = "0.05"
minimum = 1
EOF
}

# start_daemon BINARY CONFIG LOG PORT: starts `BINARY run --config CONFIG` in the background
# (stdout and stderr to LOG), sets DAEMON_PID and waits up to 30 s for its gateway on PORT.
# Returns 1 if the daemon exits or does not listen in time.
start_daemon() {
  local i
  "$1" run --config "$2" >"$3" 2>&1 &
  DAEMON_PID=$!
  for i in $(seq 1 150); do
    listening "$4" && return 0
    kill -0 "$DAEMON_PID" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# stop_daemon PID: SIGTERM, then SIGKILL after 10 s.
stop_daemon() {
  local i
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
