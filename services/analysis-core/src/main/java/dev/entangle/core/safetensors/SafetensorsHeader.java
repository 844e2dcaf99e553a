package dev.entangle.core.safetensors;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors header: the 8-byte little-endian length, then the JSON object
 * ({@code __metadata__} first, then each tensor's dtype, shape and data_offsets, tiling the data
 * buffer in order), padded with spaces so the data buffer starts 8-byte aligned, as the
 * reference writer does. The data follows, in the entries' order.
 */
final class SafetensorsHeader {

    /** One tensor of the header and its data's length in bytes. */
    record Entry(String name, DType dtype, long[] shape, long bytes) {}

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private SafetensorsHeader() {}

    static void write(OutputStream out, List<Entry> entries, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode md = header.putObject("__metadata__");
            metadata.forEach(md::put);
        }
        long offset = 0;
        for (Entry e : entries) {
            ObjectNode t = header.putObject(e.name());
            t.put("dtype", e.dtype().name());
            var shape = t.putArray("shape");
            for (long d : e.shape()) shape.add(d);
            t.putArray("data_offsets").add(offset).add(offset + e.bytes());
            offset += e.bytes();
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int pad = (8 - json.length % 8) % 8;
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length + pad).array());
        out.write(json);
        for (int i = 0; i < pad; i++) out.write(' ');
    }
}
