// swift-tools-version:5.9
// SwiftPM package for the uniffi Swift tests. `make test-swift` copies it into the
// Swift chroot together with the generated Carespace.swift, the FFI header and module
// map, and libcarespace_ffi.so (all under /carespace-swift, absolute paths).
import PackageDescription

let lib = "/carespace-swift/lib"

let package = Package(
    name: "CarespaceSwiftTests",
    targets: [
        .systemLibrary(name: "CarespaceFFI", path: "Sources/CarespaceFFI"),
        .target(
            name: "Carespace",
            dependencies: ["CarespaceFFI"],
            path: "Sources/Carespace",
            linkerSettings: [
                .linkedLibrary("carespace_ffi"),
                .unsafeFlags(["-L", lib, "-Xlinker", "-rpath", "-Xlinker", lib]),
            ]
        ),
        .testTarget(name: "CarespaceTests", dependencies: ["Carespace"], path: "Tests/CarespaceTests"),
    ]
)
