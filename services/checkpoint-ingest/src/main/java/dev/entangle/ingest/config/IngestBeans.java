package dev.entangle.ingest.config;

import dev.entangle.ingest.core.CheckpointIngester;
import dev.entangle.store.ObjectStore;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

/** The ingester (ingest-core), over the object store of dev.entangle.objectstore. */
@ApplicationScoped
public class IngestBeans {

    @Produces
    @ApplicationScoped
    CheckpointIngester ingester(ObjectStore store, IngestConfig config) {
        return new CheckpointIngester(store, config.ingest().spoolDir(), config.ingest().fftModules());
    }
}
