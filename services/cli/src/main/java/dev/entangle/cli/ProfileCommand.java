package dev.entangle.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.model.ProbeTokens;
import dev.entangle.core.json.JsonTree;
import dev.entangle.core.profile.CheckpointProfiler;
import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.core.profile.ProfileJson;
import dev.entangle.core.profile.ProbeInput;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.TensorInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "profile", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
                "Entanglement profiles of a checkpoint (ΔW of the target modules; attention and XXᵀ from its probe,",
                "or from its own model run forward on --probe-tokens / --probe-text), or of one matrix with --tensor.",
                "JSON on stdout or --out."},
        footer = {"", "Examples:",
                "  entangle profile runs/lora-r16-a16/checkpoint-150",
                "  entangle profile runs/fft/checkpoint-30 --base base --modules q_proj,v_proj,o_proj --renyi 2,3",
                "  entangle profile runs/lora-r16-a16/checkpoint-150 --base base --probe-tokens probe.json",
                "  entangle profile runs/lora-r16-a16/checkpoint-150 --base base --probe-text probe.txt",
                "  entangle profile --tensor model.safetensors:model.layers.0.self_attn.q_proj.weight --chi-max 32"})
final class ProfileCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", paramLabel = "CHECKPOINT_DIR",
            description = "HF full model, PEFT LoRA adapter or MPS adapter folder.")
    Path checkpoint;

    @Option(names = "--base", paramLabel = "BASE_DIR", description = "Base model folder (needed for full fine-tuning: ΔW = W − W_base; "
            + "for DoRA: ΔW = m ⊙ (W_base + s·B·A)/‖·‖ − W_base; and for an adapter's forward pass: W0).")
    Path base;

    @Option(names = "--probe", paramLabel = "FILE", description = "attention_probe.safetensors to use (default: the one in CHECKPOINT_DIR, if any).")
    Path probe;

    @Mixin
    ProbeSequence sequence;

    @Option(names = "--modules", split = ",", paramLabel = "NAMES", description = "Linear modules to profile (default: q_proj,v_proj).")
    List<String> modules;

    @Option(names = "--renyi", split = ",", paramLabel = "ALPHAS", description = "Rényi orders besides von Neumann (default: 2).")
    double[] renyi;

    @Option(names = "--chi-max", paramLabel = "N", description = "Keep at most N Schmidt values per bond (left-to-right MPS sweep).")
    Integer chiMax;

    @Option(names = "--tensor", paramLabel = "FILE[:TENSOR]", description = "Profile one matrix of a safetensors file instead of a checkpoint.")
    String tensor;

    @Option(names = "--sites", split = ",", paramLabel = "DIMS", description = "Explicit site dimensions for --tensor (must multiply to rows·cols).")
    int[] sites;

    @Option(names = "--spectra", description = "Include each cut's normalised spectrum.")
    boolean spectra;

    @Option(names = "--unmasked", description = "Also profile attention rebuilt without the causal mask (paper Appendix X A).")
    boolean unmasked;

    @Option(names = "--out", paramLabel = "FILE", description = "Write the JSON here instead of stdout.")
    Path out;

    @Option(names = "--compact", description = "One-line JSON.")
    boolean compact;

    @Mixin
    Errors.VerboseOption verbosity;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        ProfileOptions options = new ProfileOptions(renyi == null ? new double[]{2} : renyi, chiMax, spectra);
        JsonNode doc;
        if (tensor != null) {
            if (checkpoint != null) throw new IllegalArgumentException("give either CHECKPOINT_DIR or --tensor, not both");
            doc = profileTensor(options);
        } else {
            if (checkpoint == null) throw new IllegalArgumentException("missing CHECKPOINT_DIR (or --tensor FILE[:TENSOR])");
            if (sites != null) throw new IllegalArgumentException("--sites applies to --tensor only");
            ProbeTokens tokens = probeTokens();
            // attention heads one per core (each solve on one thread): measured faster than one head at a
            // time on all cores for a 1B model's 512 heads of 1024², and far faster on a busy machine
            doc = new CheckpointProfiler(ProfileCalculator.fromEnvironment()).profile(
                    new CheckpointProfiler.Request(checkpoint, base, probe, modules, options, unmasked, tokens));
            if (sequence.text != null) ((ObjectNode) doc.get("checkpoint")).put("tokenizer", sequence.tokenizer(this::tokenizerDir).toString());
        }
        write(doc);
        return 0;
    }

    /** The forward pass's sequence: --probe-tokens as given, --probe-text tokenised; null for neither. */
    private ProbeTokens probeTokens() {
        if (probe != null && sequence.given()) throw new IllegalArgumentException("give one of --probe, --probe-tokens and --probe-text");
        return sequence.read(this::tokenizerDir);
    }

    /**
     * Without --tokenizer: the base folder; a full model's own folder where it holds a tokenizer.json.
     * An adapter without --base has neither its W0 nor its tokenizer.
     */
    private Path tokenizerDir() {
        boolean adapter = Files.isRegularFile(checkpoint.resolve(Checkpoint.ADAPTER_CONFIG));
        if (!adapter && Files.isRegularFile(checkpoint.resolve(ProbeText.TOKENIZER_FILE))) return checkpoint;
        if (base != null) return base;
        if (adapter) {
            throw new CheckpointException(checkpoint, null, "missing base for the forward pass",
                    "an adapter holds only its ΔW; give --base BASE_DIR, the base model (W0 and its tokenizer.json) it was trained on");
        }
        return checkpoint;
    }

    private JsonNode profileTensor(ProfileOptions options) {
        int colon = tensor.lastIndexOf(':');
        Path file = Path.of(colon > 0 ? tensor.substring(0, colon) : tensor);
        String name = colon > 0 ? tensor.substring(colon + 1) : null;
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            if (name == null) {
                List<String> matrices = st.names().stream().filter(n -> st.info(n).rank() == 2).sorted().toList();
                if (matrices.size() != 1) {
                    throw new CheckpointException(file, null, "tensor name needed",
                            matrices.size() + " matrices in the file; use --tensor FILE:NAME"
                                    + (matrices.isEmpty() ? "" : " with one of " + abbreviate(matrices)));
                }
                name = matrices.getFirst();
            }
            TensorInfo t = st.info(name);
            if (t.rank() != 2 || t.dim(0) == 0 || t.dim(1) == 0) {
                throw new CheckpointException(file, name, "not a matrix", "shape " + Arrays.toString(t.shape()));
            }
            double[] data = st.readDoubles(name);
            ProfileCalculator calc = ProfileCalculator.fromEnvironment();
            EntanglementProfile p = sites == null
                    ? calc.profile(data, t.dim(0), t.dim(1), options)
                    : calc.profile(data, t.dim(0), t.dim(1), sites, options);
            ObjectNode o = ProfileJson.profile(p);
            o.put("tensor", name);
            o.put("log", ProfileJson.LOG);
            return o;
        }
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 5 ? names.toString() : names.subList(0, 5) + " ... (" + names.size() + ")";
    }

    /** stdout, or --out written to a temporary sibling and moved into place (no half-written file). */
    private void write(JsonNode doc) {
        try {
            String text = JsonTree.write(doc, !compact);
            if (out == null) {
                PrintWriter stdout = spec.commandLine().getOut();
                stdout.println(text);
                stdout.flush();
                return;
            }
            Path target = out.toAbsolutePath();
            Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
            try {
                Files.writeString(tmp, text + "\n");
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + (out == null ? "stdout" : out) + ": " + e.getMessage(), e);
        }
    }
}
