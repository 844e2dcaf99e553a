package dev.entangle.ingest.domain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * An object-store event notification in the S3 format, as MinIO publishes it to Kafka (its
 * value: {@code {"EventName": ..., "Key": "bucket/key", "Records": [...]}}) and as S3 delivers
 * it: each record's {@code eventName} ({@code s3:ObjectCreated:Put} from MinIO,
 * {@code ObjectCreated:Put} from S3), {@code s3.bucket.name} and {@code s3.object.key}
 * (URL-encoded, '+' for a space, as S3 encodes keys in notifications).
 */
public final class ObjectStoreEvents {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** One record: what happened to which object. */
    public record Record(String eventName, String bucket, String key) {
        /** s3:ObjectCreated:* (Put, Post, Copy, CompleteMultipartUpload). */
        public boolean created() {
            String n = eventName.startsWith("s3:") ? eventName.substring(3) : eventName;
            return n.startsWith("ObjectCreated:");
        }
    }

    private ObjectStoreEvents() {}

    /** The records of one notification; a payload that is not one is refused (IllegalArgumentException, one line). */
    public static List<Record> parse(byte[] payload) {
        JsonNode root;
        try {
            root = JSON.readTree(payload);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage().lines().findFirst().orElse(""));
        } catch (IOException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) throw new IllegalArgumentException("not an S3 event notification: not a JSON object");
        JsonNode records = root.get("Records");
        if (records == null || !records.isArray() || records.isEmpty()) {
            throw new IllegalArgumentException("not an S3 event notification: no Records"
                    + (root.has("Event") ? " (" + root.get("Event").asText() + ")" : ""));
        }
        List<Record> out = new ArrayList<>();
        for (JsonNode r : records) {
            String name = text(r, "eventName");
            String bucket = text(r.path("s3").path("bucket"), "name");
            String key = text(r.path("s3").path("object"), "key");
            if (name == null || bucket == null || key == null) {
                String got = r.toString();
                throw new IllegalArgumentException("not an S3 event record: needs eventName, s3.bucket.name and s3.object.key, got "
                        + (got.length() > 200 ? got.substring(0, 200) + "…" : got));
            }
            out.add(new Record(name, bucket, URLDecoder.decode(key, StandardCharsets.UTF_8)));
        }
        return out;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || !v.isTextual() || v.asText().isEmpty() ? null : v.asText();
    }
}
