// swift-tools-version:5.9
// The Carespace Swift package: the generated `Carespace` module over the C interface of
// the Rust library (`CarespaceFFI`). `make swift-package` puts the generated sources
// and the static library in place; on Apple platforms the C interface and library come
// as an XCFramework (`build-xcframework.sh`). Relative paths only.
import PackageDescription

#if os(Linux)
// The module map and header from Sources/CarespaceFFI, the static library from lib/.
let ffi: Target = .systemLibrary(name: "CarespaceFFI", path: "Sources/CarespaceFFI")
let linking: [LinkerSetting] = [
    .linkedLibrary("carespace_ffi"),
    .unsafeFlags(["-L", Context.packageDirectory + "/lib"]),
]
#else
let ffi: Target = .binaryTarget(name: "CarespaceFFI", path: "CarespaceFFI.xcframework")
let linking: [LinkerSetting] = []
#endif

let package = Package(
    name: "Carespace",
    platforms: [.macOS(.v12), .iOS(.v15)],
    products: [.library(name: "Carespace", targets: ["Carespace"])],
    targets: [
        ffi,
        .target(name: "Carespace", dependencies: ["CarespaceFFI"], path: "Sources/Carespace", linkerSettings: linking),
        .testTarget(name: "CarespaceTests", dependencies: ["Carespace"], path: "Tests/CarespaceTests"),
    ]
)
