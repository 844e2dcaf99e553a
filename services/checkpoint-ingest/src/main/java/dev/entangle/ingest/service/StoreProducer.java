package dev.entangle.ingest.service;

import dev.entangle.store.CheckpointIngester;
import dev.entangle.store.ObjectStore;
import dev.entangle.store.S3Config;
import dev.entangle.store.S3ObjectStore;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

/** The object store and the ingester, built from configuration. */
@ApplicationScoped
public class StoreProducer {

    @Produces
    @ApplicationScoped
    ObjectStore objectStore(IngestConfig config) {
        IngestConfig.S3 s3 = config.s3();
        return new S3ObjectStore(new S3Config(s3.endpoint(), s3.accessKey(), s3.secretKey(), s3.region(), s3.bucket()));
    }

    @Produces
    @ApplicationScoped
    CheckpointIngester ingester(ObjectStore store, IngestConfig config) {
        return new CheckpointIngester(store, config.ingest().spoolDir(), config.ingest().fftModules());
    }
}
