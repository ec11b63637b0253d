import ArgumentParser
import Neural
import Workflow

/// `--precision auto|fp32|bf16`.
enum PrecisionOption {
    static func parse(_ text: String) throws -> Precision {
        guard let precision = Precision(rawValue: text.lowercased()) else {
            throw BadOption("--precision '\(text)' is not auto, fp32 or bf16")
        }
        return precision
    }
}

/// `--device auto|cpu|gpu|gpu:N`.
enum DeviceOption {
    static let help: ArgumentHelp = "cpu (default), gpu (the preferred Vulkan GPU), gpu:N (a device stockwerk models lists) or auto (a GPU when there is one). The GPU computes in fp32."

    static func parse(_ text: String) throws -> EngineDevice {
        guard let device = EngineDevice(text) else { throw BadOption("--device '\(text)' is not \(EngineDevice.choices)") }
        return device
    }
}

/// `--weights auto|fp32|16-bit`.
enum WeightsOption {
    static let help: ArgumentHelp = "auto, fp32 or 16-bit: 16-bit keeps an fp16/bf16 checkpoint's weights in 16 bits (half the memory, the same image); auto does so when the model would otherwise take over a third of this machine's memory."

    static func parse(_ text: String) throws -> WeightStorage {
        guard let storage = WeightStorage(rawValue: text.lowercased()) else {
            throw BadOption("--weights '\(text)' is not auto, fp32 or 16-bit")
        }
        return storage
    }
}
