import Foundation

/// Finding weight files, and refusing the ones we must never open.
public enum ModelFiles {
    /// Extensions of PyTorch pickle checkpoints. Unpickling runs code chosen by whoever made the
    /// file, so a downloaded .ckpt can take over the machine; safetensors holds only numbers.
    public static let pickleExtensions: Set<String> = ["ckpt", "pt", "pth", "bin", "pkl"]

    /// Throws `.pickleRefused` when `path` is a pickle checkpoint.
    public static func refusePickle(_ path: String) throws {
        if pickleExtensions.contains((path as NSString).pathExtension.lowercased()) { throw DiffusionError.pickleRefused(path: path) }
    }

    /// `stem.safetensors` or `stem.fp16.safetensors` in `folder`. When only a pickle version
    /// (`stem.bin`, `stem.fp16.bin`) is there, says so instead of "missing".
    public static func weights(in folder: String, stem: String) throws -> String {
        let manager = FileManager.default
        for name in [stem + ".safetensors", stem + ".fp16.safetensors"] where manager.fileExists(atPath: folder + "/" + name) {
            return folder + "/" + name
        }
        for name in [stem + ".bin", stem + ".fp16.bin"] where manager.fileExists(atPath: folder + "/" + name) {
            throw DiffusionError.pickleRefused(path: folder + "/" + name)
        }
        throw DiffusionError.modelFiles(path: folder, reason: "no \(stem).safetensors (or \(stem).fp16.safetensors)")
    }
}
