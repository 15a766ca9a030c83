#!/usr/bin/env bash
# Installs what building the Lua plugin for wasm32-wasip2 needs, once per machine.
#
# - the Rust target wasm32-wasip2 (rustup);
# - zig (from PyPI's `ziglang` wheel), which bundles clang and the WASI libc headers;
# - two wrappers (cc, ar) for the cc crate, and the two static libraries wasi-sdk would ship
#   (libsetjmp.a with the __c_longjmp exception tag, libwasi-emulated-signal.a).
#
# Everything goes into a per-user cache keyed by tool version, outside the clone:
#   ${TWILIO_WASM_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/twilio-lua-wasm/toolchain-zig-$ZIG_VERSION}
# A second run finds the stamp file and returns at once. The script prints the environment the
# build needs as `export` lines on stdout (everything else goes to stderr), so callers do:
#   eval "$(scripts/setup-toolchain.sh)"
set -euo pipefail

ZIG_VERSION=0.17.1
TC="${TWILIO_WASM_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/twilio-lua-wasm/toolchain-zig-$ZIG_VERSION}"
STAMP="$TC/.complete-v1"

log() { echo "setup-toolchain: $*" >&2; }

ensure_rust_target() {
    if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
        log "adding Rust target wasm32-wasip2 (one time, about a minute)"
        rustup target add wasm32-wasip2 >&2
    fi
}

install_zig() {
    log "installing ziglang==$ZIG_VERSION from PyPI into $TC (one time, about 100 MB)"
    mkdir -p "$TC"
    python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
        --target "$TC/pypkgs" "ziglang==$ZIG_VERSION" >&2
}

write_wrappers() {
    mkdir -p "$TC/bin" "$TC/lib" "$TC/zig-cache"
    local zig="$TC/pypkgs/ziglang/zig"
    # The cc crate passes --target=wasm32-wasip2, a triple zig does not know: drop it.
    cat >"$TC/bin/wasm32-wasip2-cc" <<WRAP
#!/usr/bin/env bash
args=()
for a in "\$@"; do
    case "\$a" in --target=*|-target=*) ;; *) args+=("\$a") ;; esac
done
export ZIG_GLOBAL_CACHE_DIR="$TC/zig-cache" ZIG_LOCAL_CACHE_DIR="$TC/zig-cache"
exec "$zig" cc -target wasm32-wasi -mexception-handling -fno-sanitize=all -D__wasilibc_use_wasip2 "\${args[@]}"
WRAP
    cat >"$TC/bin/wasm32-wasip2-ar" <<WRAP
#!/usr/bin/env bash
export ZIG_GLOBAL_CACHE_DIR="$TC/zig-cache" ZIG_LOCAL_CACHE_DIR="$TC/zig-cache"
exec "$zig" ar "\$@"
WRAP
    chmod +x "$TC/bin/wasm32-wasip2-cc" "$TC/bin/wasm32-wasip2-ar"
}

build_support_libs() {
    local wasi="$TC/pypkgs/ziglang/lib/libc/wasi"
    local cc="$TC/bin/wasm32-wasip2-cc" ar="$TC/bin/wasm32-wasip2-ar"
    local work
    work="$(mktemp -d)"
    local eh=(-O2 -mllvm -wasm-enable-eh -mllvm -wasm-use-legacy-eh=false -mllvm -wasm-enable-sjlj)
    "$cc" "${eh[@]}" -c "$wasi/libc-top-half/musl/src/setjmp/wasm32/rt.c" -o "$work/rt.o"
    # The exception tag LLVM's setjmp lowering throws; wasi-sdk gets it from compiler-rt.
    printf '.globl __c_longjmp\n.tagtype __c_longjmp i32\n__c_longjmp:\n' >"$work/tag.s"
    "$cc" -c "$work/tag.s" -o "$work/tag.o"
    rm -f "$TC/lib/libsetjmp.a" "$TC/lib/libwasi-emulated-signal.a"
    "$ar" rcs "$TC/lib/libsetjmp.a" "$work/rt.o" "$work/tag.o"
    "$cc" -O2 -c "$wasi/libc-bottom-half/signal/signal.c" -o "$work/signal.o"
    "$ar" rcs "$TC/lib/libwasi-emulated-signal.a" "$work/signal.o"
    rm -rf "$work"
}

ensure_rust_target
if [ ! -f "$STAMP" ]; then
    [ -x "$TC/pypkgs/ziglang/zig" ] || install_zig
    write_wrappers
    build_support_libs
    touch "$STAMP"
    log "toolchain ready in $TC"
fi

cat <<ENV
export CC_wasm32_wasip2="$TC/bin/wasm32-wasip2-cc"
export AR_wasm32_wasip2="$TC/bin/wasm32-wasip2-ar"
export CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS="-L native=$TC/lib"
ENV
