#!/usr/bin/env bash
# Builds CarespaceFFI.xcframework (iOS devices, the iOS simulator, macOS) and the
# generated Carespace.swift into this package, for Apple platforms. Run on macOS with
# Xcode and rustup, from anywhere; it needs `make uniffi-bindgen` first (or set
# UNIFFI_BINDGEN). Not runnable on the Linux machine the project is tested on (no
# Xcode): `make test-swift` builds and tests the same package on Linux instead.
set -euo pipefail
package=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$package/../.." && pwd)
bindgen=${UNIFFI_BINDGEN:-$HOME/.cache/carespace/bindgen-target/release/uniffi-bindgen}
cd "$repo"

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
for target in "${targets[@]}"; do
  rustup target add "$target"
  cargo build --release -p carespace-ffi --target "$target"
done

work=target/xcframework
rm -rf "$work" "$package/CarespaceFFI.xcframework"
mkdir -p "$work/headers" "$work/generated"
"$bindgen" generate --no-format --language swift --out-dir "$work/generated" \
  target/aarch64-apple-darwin/release/libcarespace_ffi.a
cp "$work/generated/CarespaceFFI.h" "$work/headers/"
cp "$work/generated/CarespaceFFI.modulemap" "$work/headers/module.modulemap"

# One library per platform: the simulator's and macOS's two architectures each in one.
lib=release/libcarespace_ffi.a
lipo -create "target/aarch64-apple-ios-sim/$lib" "target/x86_64-apple-ios/$lib" -output "$work/ios-simulator.a"
lipo -create "target/aarch64-apple-darwin/$lib" "target/x86_64-apple-darwin/$lib" -output "$work/macos.a"
xcodebuild -create-xcframework \
  -library "target/aarch64-apple-ios/$lib" -headers "$work/headers" \
  -library "$work/ios-simulator.a" -headers "$work/headers" \
  -library "$work/macos.a" -headers "$work/headers" \
  -output "$package/CarespaceFFI.xcframework"

mkdir -p "$package/Sources/Carespace"
cp "$work/generated/Carespace.swift" "$package/Sources/Carespace/"
cp "$package"/Shims/*.swift "$package/Sources/Carespace/"
echo "built $package/CarespaceFFI.xcframework; add the package (bindings-uniffi/swift) to your app"
