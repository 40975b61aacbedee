#!/bin/sh
# flannel-ops node probe.
#
# Runs in a short-lived hostNetwork pod with the node's CNI directories mounted read-only and prints
# ONE JSON document describing what the container runtime's CNI setup sees on this node. It only
# reads: it never writes, locks or deletes anything. It never aborts either: whatever it cannot read
# lands in "errors" and the rest is still reported.
#
# Portable on purpose: POSIX sh plus awk, dd, wc and date (busybox, alpine, debian). No bash, jq or
# python, because the probe image is whatever small image the cluster can pull.
#
# Paths come from the environment so the pod spec (and the simulator) can map them:
#   HOST_ROOT (/host), CNI_CONF_DIR, CNI_BIN_DIR, FLANNEL_RUN_DIR, CNI_IPAM_DIR, NETNS_DIR,
#   SYS_CLASS_NET_DIR (/sys/class/net: a hostNetwork pod sees the node's devices there), NODE_NAME.

PROBE_VERSION=1
# Byte order for globs and awk: libcni sorts config file names with Go's sort.Strings (bytes).
LC_ALL=C
export LC_ALL

HOST_ROOT=${HOST_ROOT:-/host}
CNI_CONF_DIR=${CNI_CONF_DIR:-$HOST_ROOT/etc/cni/net.d}
CNI_BIN_DIR=${CNI_BIN_DIR:-$HOST_ROOT/opt/cni/bin}
FLANNEL_RUN_DIR=${FLANNEL_RUN_DIR:-$HOST_ROOT/run/flannel}
CNI_IPAM_DIR=${CNI_IPAM_DIR:-$HOST_ROOT/var/lib/cni/networks}
NETNS_DIR=${NETNS_DIR:-$HOST_ROOT/var/run/netns}
SYS_CLASS_NET_DIR=${SYS_CLASS_NET_DIR:-/sys/class/net}
CONF_CAP=65536
REQUIRED_PLUGINS='flannel bridge host-local portmap loopback'

CR=$(printf '\r')
errors=''

# ---------------------------------------------------------------------------------------------
# JSON string escaping. awk does the work for anything beyond plain text; plain text is printed
# directly so the common case (IPs, hex ids, file names) costs no process.

AWK_LIB='
function esc_init(  i) {
  for (i = 1; i < 32; i++) ESC[sprintf("%c", i)] = sprintf("\\u%04x", i)
  ESC["\t"] = "\\t"; ESC["\n"] = "\\n"; ESC["\r"] = "\\r"; ESC["\b"] = "\\b"; ESC["\f"] = "\\f"
  ESC["\""] = "\\\""; ESC["\\"] = "\\\\"; ESC[sprintf("%c", 127)] = "\\u007f"
  SPECIAL = "[\"\\\\" sprintf("%c", 1) "-" sprintf("%c", 31) sprintf("%c", 127) "]"
  CTL = ""
  for (i = 1; i < 32; i++) CTL = CTL sprintf("%c", i)
}
function esc(s,   out, c) {
  out = ""
  while (match(s, SPECIAL)) {
    c = substr(s, RSTART, 1)
    out = out substr(s, 1, RSTART - 1) ESC[c]
    s = substr(s, RSTART + 1)
  }
  return out s
}
'

# stdin ends with a sentinel "x" (appended by the caller) so a trailing newline survives.
AWK_STRING='
BEGIN { esc_init(); printf "\"" }
NR > 1 { printf "%s%s", esc(prev), "\\n" }
{ prev = $0 }
END { sub(/x$/, "", prev); printf "%s\"", esc(prev) }
'

# One JSON string per input line, comma-separated.
AWK_LINES='
BEGIN { esc_init() }
{ printf "%s\"%s\"", (NR > 1 ? "," : ""), esc($0) }
'

# A CNI config file (stdin, sentinel-terminated): prints "content" plus a cheap structural check
# (one top-level object, balanced brackets, terminated strings, no raw control characters in
# strings) and, best-effort, the conflist "name", "cniVersion" and the plugin "type"s.
AWK_CONF='
BEGIN { esc_init(); printf "\"content\":\""; depth = 0; types = ""; ntypes = 0 }
NR > 1 { emit(prev "\n") }
{ prev = $0 }
END {
  sub(/x$/, "", prev); emit(prev)
  printf "\""
  ok = (!bad && !instr && done && depth == 0 && !truncated)
  printf ",\"looksLikeJson\":%s", (ok ? "true" : "false")
  printf ",\"netName\":%s", (netname_set ? "\"" esc(netname) "\"" : "null")
  printf ",\"cniVersion\":%s", (version_set ? "\"" esc(version) "\"" : "null")
  printf ",\"pluginTypes\":[%s]", types
}
function emit(s) { printf "%s", esc(s); scan(s) }
function on_string(s) {
  if (depth >= 1 && kind[depth] == "o" && expectkey[depth]) { key[depth] = s; expectkey[depth] = 0; return }
  if (depth == 1 && kind[1] == "o") {
    if (key[1] == "name") { netname = s; netname_set = 1 }
    if (key[1] == "cniVersion") { version = s; version_set = 1 }
    if (key[1] == "type") add_type(s)
  }
  if (depth == 3 && kind[1] == "o" && kind[2] == "a" && kind[3] == "o" && parentkey[2] == "plugins" && key[3] == "type") add_type(s)
}
function add_type(s) { types = types (ntypes++ ? "," : "") "\"" esc(s) "\"" }
function scan(s,   i, n, c) {
  n = length(s)
  for (i = 1; i <= n && !bad; i++) {
    c = substr(s, i, 1)
    if (instr) {
      if (escnext) { escnext = 0; if (length(sbuf) < 512) sbuf = sbuf c; continue }
      if (c == "\\") { escnext = 1; continue }
      if (c == "\"") { instr = 0; on_string(sbuf); continue }
      if (index(CTL, c)) { bad = 1; continue }
      if (length(sbuf) < 512) sbuf = sbuf c
      continue
    }
    if (c == " " || c == "\t" || c == "\n" || c == "\r") continue
    if (done) { bad = 1; continue }
    if (depth == 0 && c != "{") { bad = 1; continue }
    if (c == "{" || c == "[") {
      parent = (depth >= 1 && kind[depth] == "o") ? key[depth] : ""
      depth++
      kind[depth] = (c == "{") ? "o" : "a"
      parentkey[depth] = parent
      key[depth] = ""
      expectkey[depth] = (c == "{")
      continue
    }
    if (c == "}" || c == "]") {
      if ((c == "}" && kind[depth] != "o") || (c == "]" && kind[depth] != "a")) { bad = 1; continue }
      depth--
      if (depth == 0) done = 1
      continue
    }
    if (c == "\"") { instr = 1; sbuf = ""; continue }
    if (c == ",") { if (kind[depth] == "o") expectkey[depth] = 1; continue }
    if (c == ":") { if (kind[depth] != "o") bad = 1; continue }
    if (index("-+.0123456789eEtruefalsn", c)) continue
    bad = 1
  }
}
'

# Reservation files of one host-local network: the first lines of each file named on the command
# line (read with getline, so an unreadable file is reported instead of stopping awk).
AWK_FILES='
BEGIN {
  esc_init()
  for (i = 1; i < ARGC; i++) {
    f = ARGV[i]; name = f; sub(/.*\//, "", name)
    printf "%s{\"name\":\"%s\",\"lines\":[", (i > 1 ? "," : ""), esc(name)
    n = 0; r = 0
    while (n < 3 && (r = (getline line < f)) > 0) {
      if (length(line) > 512) line = substr(line, 1, 512)
      printf "%s\"%s\"", (n ? "," : ""), esc(line)
      n++
    }
    printf "]"
    if (r < 0) printf ",\"error\":\"unreadable\""
    printf "}"
    close(f)
  }
  exit
}
'

# json_str VALUE: prints VALUE as a JSON string.
json_str() {
  case $1 in
    *[\"\\]* | *[[:cntrl:]]*) printf '%sx' "$1" | awk "$AWK_LIB$AWK_STRING" ;;
    *) printf '"%s"' "$1" ;;
  esac
}

# json_lines TEXT: prints the lines of TEXT as comma-separated JSON strings.
json_lines() {
  [ -n "$1" ] || return 0
  printf '%s\n' "$1" | awk "$AWK_LIB$AWK_LINES"
}

json_bool() { if "$@"; then printf true; else printf false; fi; }

is_exec() { [ -f "$1" ] && [ -x "$1" ]; }

add_error() { errors="$errors${errors:+,}$(json_str "$1")"; }

file_size() {
  _size=$(wc -c <"$1" 2>/dev/null) || _size=''
  case $_size in *[0-9]*) printf '%s' $((_size)) ;; *) printf null ;; esac
}

# Directory walk in byte order (what Go's sorted ReadDir gives): names sorting before "." first,
# then hidden names, then the rest. Calls "$2" with each entry's path. Callbacks may walk other
# directories: only positional parameters (per call) are used after a callback returns.
BEFORE_DOT='[ !"#$%&'"'"'()*+,-]*'
each_entry() {
  for _ee in "$1"/*; do
    [ -e "$_ee" ] || [ -L "$_ee" ] || continue
    case ${_ee##*/} in [[:cntrl:]]* | $BEFORE_DOT) "$2" "$_ee" ;; esac
  done
  for _ee in "$1"/..?* "$1"/.[!.]*; do
    [ -e "$_ee" ] || [ -L "$_ee" ] || continue
    "$2" "$_ee"
  done
  for _ee in "$1"/*; do
    [ -e "$_ee" ] || [ -L "$_ee" ] || continue
    case ${_ee##*/} in [[:cntrl:]]* | $BEFORE_DOT) ;; *) "$2" "$_ee" ;; esac
  done
}

# dir_usable DIR LABEL: true if DIR can be listed; records an error if it exists but cannot be.
dir_usable() {
  if [ -d "$1" ]; then
    if [ -r "$1" ] && [ -x "$1" ]; then return 0; fi
    add_error "cannot read $2 directory $1"
  fi
  return 1
}

# ---------------------------------------------------------------------------------------------
# /etc/cni/net.d

conf_entry() {
  _name=${1##*/}
  case $_name in
    *.conf | *.conflist | *.json) [ -f "$1" ] || { conf_other=$conf_other${conf_other:+,}$(json_str "$_name"); return; } ;;
    *) conf_other=$conf_other${conf_other:+,}$(json_str "$_name"); return ;;
  esac
  printf '%s{"name":' "$conf_sep"
  conf_sep=,
  json_str "$_name"
  _size=$(file_size "$1")
  printf ',"size":%s' "$_size"
  if [ ! -r "$1" ]; then
    add_error "cannot read CNI config $1"
    printf ',"readable":false}'
    return
  fi
  _trunc=0
  case $_size in null) ;; *) [ "$_size" -gt "$CONF_CAP" ] && _trunc=1 ;; esac
  printf ',"readable":true,"truncated":%s,' "$(json_bool [ "$_trunc" = 1 ])"
  { dd if="$1" bs="$CONF_CAP" count=1 2>/dev/null; printf x; } | awk -v truncated="$_trunc" "$AWK_LIB$AWK_CONF"
  printf '}'
}

probe_cni_conf() {
  printf '"cniConf":{"dir":'
  json_str "$CNI_CONF_DIR"
  conf_sep=''
  conf_other=''
  if dir_usable "$CNI_CONF_DIR" 'CNI config'; then
    printf ',"exists":true,"files":['
    each_entry "$CNI_CONF_DIR" conf_entry
    printf ']'
  else
    printf ',"exists":%s,"files":[' "$(json_bool [ -d "$CNI_CONF_DIR" ])"
    printf ']'
  fi
  printf ',"otherEntries":[%s]}' "$conf_other"
}

# ---------------------------------------------------------------------------------------------
# /opt/cni/bin

bin_entry() {
  _name=${1##*/}
  printf '%s{"name":' "$bin_sep"
  bin_sep=,
  json_str "$_name"
  if [ -f "$1" ]; then _kind=file; elif [ -d "$1" ]; then _kind=dir; else _kind=other; fi
  [ -L "$1" ] && _link=true || _link=false
  printf ',"type":"%s","symlink":%s,"size":%s,"executable":%s}' "$_kind" "$_link" \
    "$([ "$_kind" = file ] && file_size "$1" || printf null)" "$(json_bool is_exec "$1")"
}

probe_cni_bin() {
  printf ',"cniBin":{"dir":'
  json_str "$CNI_BIN_DIR"
  bin_sep=''
  if dir_usable "$CNI_BIN_DIR" 'CNI plugin'; then
    printf ',"exists":true,"files":['
    each_entry "$CNI_BIN_DIR" bin_entry
    printf ']'
  else
    printf ',"exists":%s,"files":[]' "$(json_bool [ -d "$CNI_BIN_DIR" ])"
  fi
  printf ',"required":{'
  _sep=''
  for _p in $REQUIRED_PLUGINS; do
    printf '%s"%s":%s' "$_sep" "$_p" "$(json_bool is_exec "$CNI_BIN_DIR/$_p")"
    _sep=,
  done
  printf '}}'
}

# ---------------------------------------------------------------------------------------------
# Network devices: raw iproute2 text, parsed on the TypeScript side.

# run_ip LABEL CMD...: prints {"command":...,"exitCode":N,"lines":[...]}
run_ip() {
  _label=$1
  shift
  _out=$("$@" 2>&1)
  _rc=$?
  printf '{"command":'
  json_str "$*"
  printf ',"exitCode":%s,"lines":[' "$_rc"
  if [ "$_rc" -eq 0 ]; then
    json_lines "$_out"
  else
    add_error "$_label: '$*' failed (exit $_rc): $_out"
  fi
  printf ']}'
}

sys_net_entry() {
  printf '%s' "$sys_sep"
  sys_sep=,
  json_str "${1##*/}"
}

probe_net() {
  printf ',"net":{"addr":'
  run_ip 'addresses' ip -o addr show
  printf ',"link":'
  if ip -d link show >/dev/null 2>&1; then
    run_ip 'links' ip -d link show
  else
    # busybox ip has no -d: the device list without vxlan details is still worth having.
    run_ip 'links' ip link show
  fi
  printf ',"route":'
  run_ip 'routes' ip -4 route show
  printf ',"sysClassNet":{"dir":'
  json_str "$SYS_CLASS_NET_DIR"
  sys_sep=''
  if [ -d "$SYS_CLASS_NET_DIR" ] && [ -r "$SYS_CLASS_NET_DIR" ]; then
    printf ',"readable":true,"names":['
    each_entry "$SYS_CLASS_NET_DIR" sys_net_entry
    printf ']}}'
  else
    printf ',"readable":false,"names":[]}}'
  fi
}

# ---------------------------------------------------------------------------------------------
# /run/flannel/subnet.env

probe_subnet_env() {
  _file=$FLANNEL_RUN_DIR/subnet.env
  printf ',"subnetEnv":{"path":'
  json_str "$_file"
  if [ ! -e "$_file" ]; then
    printf ',"present":false,"readable":false,"entries":[],"otherLines":[]}'
    return
  fi
  if [ ! -r "$_file" ] || [ ! -f "$_file" ]; then
    add_error "cannot read $_file"
    printf ',"present":true,"readable":false,"entries":[],"otherLines":[]}'
    return
  fi
  printf ',"present":true,"readable":true,"entries":['
  _sep=''
  _other=''
  while IFS= read -r _line || [ -n "$_line" ]; do
    _line=${_line%"$CR"}
    case $_line in
      '' | '#'*) ;;
      [A-Za-z_]*=*)
        printf '%s{"key":' "$_sep"
        _sep=,
        json_str "${_line%%=*}"
        printf ',"value":'
        json_str "${_line#*=}"
        printf '}'
        ;;
      *) _other=$_other${_other:+,}$(json_str "$_line") ;;
    esac
  done <"$_file"
  printf '],"otherLines":[%s]}' "$_other"
}

# ---------------------------------------------------------------------------------------------
# /var/lib/cni/networks/<network>/: one file per reserved IP ("<container id>\r\n<ifname>"),
# last_reserved_ip.<range>, and the lock file (presence only: taking the flock could stall CNI).

ipam_file_entry() {
  _name=${1##*/}
  if [ "$_name" = lock ]; then
    ipam_lock=true
  elif [ -f "$1" ]; then
    ipam_files_found=1
  else
    ipam_other=$ipam_other${ipam_other:+,}$(json_str "$_name")
  fi
}

ipam_network_entry() {
  _name=${1##*/}
  if [ ! -d "$1" ]; then
    ipam_top_other=$ipam_top_other${ipam_top_other:+,}$(json_str "$_name")
    return
  fi
  printf '%s{"name":' "$ipam_sep"
  ipam_sep=,
  json_str "$_name"
  if ! dir_usable "$1" 'host-local IPAM'; then
    printf ',"readable":false,"lock":false,"files":[],"otherEntries":[]}'
    return
  fi
  ipam_lock=false
  ipam_other=''
  ipam_files_found=0
  each_entry "$1" ipam_file_entry
  printf ',"readable":true,"lock":%s,"files":[' "$ipam_lock"
  if [ "$ipam_files_found" = 1 ]; then
    # One awk for all files of the network: a leaking node has hundreds of them.
    ipam_awk_files "$1"
  fi
  printf '],"otherEntries":[%s]}' "$ipam_other"
}

# ipam_awk_files DIR: gathers the regular files (except lock) in byte order as awk's arguments.
ipam_awk_files() {
  _iaf_dir=$1
  set --
  for _iaf in "$_iaf_dir"/*; do
    case ${_iaf##*/} in [[:cntrl:]]* | $BEFORE_DOT) ipam_keep "$_iaf" && set -- "$@" "$_iaf" ;; esac
  done
  for _iaf in "$_iaf_dir"/..?* "$_iaf_dir"/.[!.]*; do
    ipam_keep "$_iaf" && set -- "$@" "$_iaf"
  done
  for _iaf in "$_iaf_dir"/*; do
    case ${_iaf##*/} in [[:cntrl:]]* | $BEFORE_DOT) ;; *) ipam_keep "$_iaf" && set -- "$@" "$_iaf" ;; esac
  done
  [ $# -gt 0 ] && awk "$AWK_LIB$AWK_FILES" "$@"
}

ipam_keep() { [ -f "$1" ] && [ "${1##*/}" != lock ]; }

probe_ipam() {
  printf ',"ipam":{"dir":'
  json_str "$CNI_IPAM_DIR"
  ipam_sep=''
  ipam_top_other=''
  if dir_usable "$CNI_IPAM_DIR" 'host-local IPAM'; then
    printf ',"exists":true,"networks":['
    each_entry "$CNI_IPAM_DIR" ipam_network_entry
    printf ']'
  else
    printf ',"exists":%s,"networks":[]' "$(json_bool [ -d "$CNI_IPAM_DIR" ])"
  fi
  printf ',"otherEntries":[%s]}' "$ipam_top_other"
}

# ---------------------------------------------------------------------------------------------
# /var/run/netns

netns_entry() {
  printf '%s' "$netns_sep"
  netns_sep=,
  json_str "${1##*/}"
}

probe_netns() {
  printf ',"netns":{"dir":'
  json_str "$NETNS_DIR"
  netns_sep=''
  if dir_usable "$NETNS_DIR" 'network namespace'; then
    printf ',"exists":true,"entries":['
    each_entry "$NETNS_DIR" netns_entry
    printf ']}'
  else
    printf ',"exists":%s,"entries":[]}' "$(json_bool [ -d "$NETNS_DIR" ])"
  fi
}

# ---------------------------------------------------------------------------------------------
# The runtime's sandboxes, as `crictl pods` shows them (Ready and NotReady: a NotReady sandbox still
# holds its IP until the kubelet tears it down). Only when crictl is in the image and the runtime's
# socket is mounted (CONTAINER_RUNTIME_ENDPOINT); otherwise null. Read-only: `pods` lists, nothing else.

probe_cri() {
  printf ',"cri":'
  if ! command -v crictl >/dev/null 2>&1; then
    printf 'null'
    return
  fi
  _out=$(crictl pods -o json 2>&1)
  _rc=$?
  printf '{"command":"crictl pods -o json","exitCode":%s,"lines":[' "$_rc"
  json_lines "$_out"
  printf ']}'
}

# ---------------------------------------------------------------------------------------------

printf '{"probeVersion":%s,"node":' "$PROBE_VERSION"
json_str "${NODE_NAME:-}"
printf ',"time":'
json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)"
printf ',"hostRoot":'
json_str "$HOST_ROOT"
printf ','
probe_cni_conf
probe_cni_bin
probe_net
probe_subnet_env
probe_ipam
probe_netns
probe_cri
printf ',"errors":[%s]}\n' "$errors"
exit 0
