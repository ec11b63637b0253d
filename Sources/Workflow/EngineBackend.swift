import CPUBackend
import Neural

/// The backend every command's models run on. One place to choose it (today the CPU; a GPU
/// backend or a precision setting will be chosen here).
public enum EngineBackend {
    public static var current: any Backend { CPUBackend.shared }
}
