package dev.entangle.query.client;

import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.store.ObjectStore;
import io.grpc.Status;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Per-cut spectra the profiler stored ("{profile}.cut{k}" tensors in one safetensors object). */
@ApplicationScoped
public class SpectraReader {

    @Inject
    ObjectStore store;

    public Map<Integer, double[]> read(String key, String profile) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile("spectra-", ".safetensors");
            store.download(key, tmp);
            Map<Integer, double[]> out = new TreeMap<>();
            Pattern p = Pattern.compile(Pattern.quote(profile) + "\\.cut(\\d+)");
            try (SafetensorsFile f = SafetensorsFile.open(tmp)) {
                for (String n : f.names()) {
                    Matcher m = p.matcher(n);
                    if (m.matches()) out.put(Integer.parseInt(m.group(1)), f.readDoubles(n));
                }
            }
            return out;
        } catch (IOException e) {
            throw Status.UNAVAILABLE.withDescription("spectra " + key + ": " + e.getMessage()).asRuntimeException();
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a temp file; nothing else to do
                }
            }
        }
    }
}
