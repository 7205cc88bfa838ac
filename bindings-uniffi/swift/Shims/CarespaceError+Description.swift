// Declares what the generated CarespaceError already implements: its `description` is
// Carespace's sentence (Rust's Display, exported through uniffi). uniffi 0.32 writes the
// property but leaves CustomStringConvertible off error enums, so without this line
// "\(error)" and localizedDescription would show the case and its fields instead.
extension CarespaceError: CustomStringConvertible {}
