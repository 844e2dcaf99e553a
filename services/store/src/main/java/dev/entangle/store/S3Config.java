package dev.entangle.store;

/**
 * Where the object store is and how to sign in. Credentials come from configuration or secrets
 * only; there are no built-in defaults here.
 */
public record S3Config(String endpoint, String accessKey, String secretKey, String region, String bucket) {

    public S3Config {
        require(endpoint, "endpoint");
        require(accessKey, "access key");
        require(secretKey, "secret key");
        require(bucket, "bucket");
        region = region == null || region.isBlank() ? "us-east-1" : region;
    }

    private static void require(String v, String what) {
        if (v == null || v.isBlank()) throw new IllegalArgumentException("object store " + what + " is not configured");
    }

    @Override
    public String toString() {
        return "S3Config[endpoint=" + endpoint + ", region=" + region + ", bucket=" + bucket + "]"; // never the secret
    }
}
