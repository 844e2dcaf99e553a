package dev.entangle.objectstore;

import dev.entangle.store.S3Config;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * Where the services' objects live: {@code entangle.s3.*}, from ENTANGLE_S3_ENDPOINT, _ACCESS_KEY,
 * _SECRET_KEY (a Secret in Kubernetes, the environment in the local stack), _BUCKET.
 */
@ConfigMapping(prefix = "entangle.s3")
public interface ObjectStoreSettings {

    String endpoint();

    String accessKey();

    String secretKey();

    @WithDefault("us-east-1")
    String region();

    @WithDefault("entangle")
    String bucket();

    /** The same server and credentials, another bucket (ingest's Register reads from the caller's). */
    default S3Config forBucket(String bucket) {
        return new S3Config(endpoint(), accessKey(), secretKey(), region(), bucket);
    }

    default S3Config s3Config() {
        return forBucket(bucket());
    }
}
