//! `uniffi-bindgen`: generates Kotlin and Swift from the built `libcarespace_ffi.so`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
