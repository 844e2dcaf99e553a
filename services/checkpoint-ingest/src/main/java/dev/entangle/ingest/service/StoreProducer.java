package dev.entangle.ingest.service;

import dev.entangle.store.CheckpointIngester;
import dev.entangle.store.ObjectStore;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

/** The ingester, over the object store of dev.entangle.objectstore. */
@ApplicationScoped
public class StoreProducer {

    @Produces
    @ApplicationScoped
    CheckpointIngester ingester(ObjectStore store, IngestConfig config) {
        return new CheckpointIngester(store, config.ingest().spoolDir(), config.ingest().fftModules());
    }
}
