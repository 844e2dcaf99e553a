package dev.entangle.core.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A cached copy is loaded only as the recorded bytes: foreign, half-copied and changed files are caught. */
class CachedCopyTest {

    @TempDir
    Path dir;

    private final byte[] bytes = new byte[100_000];
    private String digest;

    CachedCopyTest() throws Exception {
        new Random(5).nextBytes(bytes);
        digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    private CachedCopy copy() { return new CachedCopy(dir.resolve("lib.so"), digest); }

    @Test
    void aMissingFileIsNotVerifiedAndIsWrittenWhole() throws IOException {
        CachedCopy c = copy();
        assertFalse(c.verified());
        c.replaceFrom(new ByteArrayInputStream(bytes));
        assertArrayEquals(bytes, Files.readAllBytes(dir.resolve("lib.so")));
        assertTrue(Files.isRegularFile(dir.resolve("lib.so.verified")));
        assertTrue(copy().verified());
        try (var s = Files.list(dir)) {
            assertEquals(2, s.count(), "no temporary file left behind");
        }
    }

    @Test
    void aFileWithTheRightBytesIsDigestedOnceThenTrustedByItsNote() throws IOException {
        Path f = dir.resolve("lib.so");
        Files.write(f, bytes);                      // e.g. an earlier version's copy, before notes existed
        assertTrue(copy().verified());              // digested, and noted
        String note = Files.readString(dir.resolve("lib.so.verified"));
        assertTrue(note.startsWith(digest + " "), note);
        assertTrue(copy().verified());
        assertEquals(note, Files.readString(dir.resolve("lib.so.verified")), "the note stands while the file is unchanged");
    }

    @Test
    void aForeignOrHalfCopiedFileIsNotVerified() throws IOException {
        Path f = dir.resolve("lib.so");
        byte[] foreign = bytes.clone();
        foreign[77] ^= 1;
        Files.write(f, foreign);
        assertFalse(copy().verified());
        Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        assertFalse(copy().verified());
        copy().replaceFrom(new ByteArrayInputStream(bytes));
        assertArrayEquals(bytes, Files.readAllBytes(f));
    }

    @Test
    void aFileChangedAfterItsCheckIsDigestedAgain() throws IOException {
        Path f = dir.resolve("lib.so");
        copy().replaceFrom(new ByteArrayInputStream(bytes));
        FileTime mtime = Files.getLastModifiedTime(f);
        // one byte rewritten in place, the same size, the modification time set back: only the change time tells
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[]{(byte) (bytes[10] ^ 0x40)}), 10);
        }
        Files.setLastModifiedTime(f, mtime);
        assertFalse(copy().verified());

        // replaced by another file with the old note left beside it
        copy().replaceFrom(new ByteArrayInputStream(bytes));
        String note = Files.readString(dir.resolve("lib.so.verified"));
        Path other = dir.resolve("other");
        byte[] foreign = bytes.clone();
        foreign[0] ^= 1;
        Files.write(other, foreign);
        Files.move(other, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(dir.resolve("lib.so.verified"), note);
        assertFalse(copy().verified());
    }

    @Test
    void bytesThatAreNotTheRecordedOnesAreRefusedAndLeaveNothing() throws IOException {
        byte[] foreign = bytes.clone();
        foreign[1] ^= 1;
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> copy().replaceFrom(new ByteArrayInputStream(foreign)));
        assertTrue(e.getMessage().contains("lib.so") && e.getMessage().contains(digest), e.getMessage());
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void theEnginesLibraryIsExtractedAndThenTrustedWithoutRewriting() throws IOException {
        Path cache = dir.resolve("cache");
        OpenBlasLibrary.extractInto(cache, false);
        Path lib = cache.resolve("libopenblas.so.0");
        Object inode = Files.getAttribute(lib, "unix:ino");
        FileTime ctime = (FileTime) Files.getAttribute(lib, "unix:ctime");
        assertTrue(Files.size(lib) > 1_000_000);
        OpenBlasLibrary.extractInto(cache, false);
        assertEquals(inode, Files.getAttribute(lib, "unix:ino"), "a verified copy is not replaced");
        assertEquals(ctime, Files.getAttribute(lib, "unix:ctime"));
        try (FileChannel ch = FileChannel.open(lib, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[]{0}), 1000);
        }
        OpenBlasLibrary.extractInto(cache, false);
        assertTrue(new CachedCopy(lib, CachedCopy.sha256(lib)).verified());
        try (var in = OpenBlasLibrary.class.getResourceAsStream("/dev/entangle/natives/linux-x86_64/libopenblas.so.0.sha256")) {
            assertTrue(new String(in.readAllBytes()).startsWith(CachedCopy.sha256(lib)), "the changed copy was replaced by the jar's");
        }
    }
}
