package dev.entangle.query.service;

import dev.entangle.store.ObjectStore;
import dev.entangle.store.S3Config;
import dev.entangle.store.S3ObjectStore;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

/** The object store the profilers wrote spectra to. */
@ApplicationScoped
public class QueryBeans {

    @ConfigMapping(prefix = "entangle.s3")
    public interface S3 {
        String endpoint();

        String accessKey();

        String secretKey();

        @WithDefault("us-east-1")
        String region();

        @WithDefault("entangle")
        String bucket();
    }

    /** The results view the consumer feeds and the API reads. */
    @Produces
    @jakarta.inject.Singleton
    dev.entangle.query.ProfileView view() {
        return new dev.entangle.query.ProfileView();
    }

    @Produces
    @ApplicationScoped
    ObjectStore objectStore(S3 s3) {
        return new S3ObjectStore(new S3Config(s3.endpoint(), s3.accessKey(), s3.secretKey(), s3.region(), s3.bucket()));
    }
}
