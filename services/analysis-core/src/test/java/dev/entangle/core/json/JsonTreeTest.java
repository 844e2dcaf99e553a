package dev.entangle.core.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** JsonTree against ObjectMapper itself, which it stands in for: the same text out, the same nodes in. */
class JsonTreeTest {

    private static final JsonMapper MAPPER = JsonMapper.builder().build();

    /** Every kind of node a profile or a header holds, and the doubles whose printing is the delicate part. */
    private static ObjectNode everyKind() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.putArray("shape").add(2048).add(4096L).add(new BigInteger("123456789012345678901234567890"));
        o.put("S", 0.6930828096242097).put("tiny", Double.MIN_VALUE).put("huge", 1.7976931348623157e308)
                .put("third", 1.0 / 3).put("negative_zero", -0.0).put("ln16", Math.log(16)).put("f", 2.5f)
                .put("exact", new BigDecimal("1.10")).put("text", "ΔW \"q\" \\ \n\t\u0001 ✓").put("yes", true).put("no", false);
        o.putNull("absent");
        o.putArray("empty");
        o.putObject("nothing");
        o.putObject("nested").putArray("profile").addObject().put("cut", 1).put("S2", 1e-17);
        return o;
    }

    @Test
    void writesWhatObjectMapperWrites() throws JsonProcessingException {
        ObjectNode o = everyKind();
        assertEquals(MAPPER.writeValueAsString(o), JsonTree.write(o, false));
        assertEquals(MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(o), JsonTree.write(o, true));
    }

    @Test
    void readsWhatObjectMapperReads() throws IOException {
        String json = MAPPER.writeValueAsString(everyKind()).replace("1.10", "1.25")   // a decimal read back as a double, as readTree does
                + "   ";
        JsonNode expected = MAPPER.readTree(json);
        JsonNode read = JsonTree.read(json);
        assertEquals(expected, read);   // node equality includes each node's type (IntNode is not LongNode)
        assertEquals(expected.get("shape").get(1).getClass(), read.get("shape").get(1).getClass());
        assertEquals(expected.get("shape").get(2).getClass(), read.get("shape").get(2).getClass());
        assertEquals(MAPPER.writeValueAsString(expected), JsonTree.write(read, false));
    }

    @Test
    void readsIntegersAsTheNarrowestNodeReadTreeMakes() throws IOException {
        for (String n : new String[]{"0", "-0", "2147483647", "-2147483648", "2147483648", "-2147483649", "999999999999999999",
                "9223372036854775807", "-9223372036854775808", "9223372036854775808", "123456789012345678901234567890", "1e3", "-0.0", "2.5E-7"}) {
            JsonNode want = MAPPER.readTree("[" + n + "]").get(0), got = JsonTree.read("[" + n + "]").get(0);
            assertEquals(want, got, n);
            assertEquals(want.getClass(), got.getClass(), n);
        }
    }

    @Test
    void refusesWhatAHeaderMustNotHold() {
        IOException dup = assertThrows(IOException.class, () -> JsonTree.read("{\"w\":{\"a\":1,\"a\":2}}"));
        assertTrue(dup.getMessage().contains("Duplicate field 'a'"), dup.getMessage());
        IOException trailing = assertThrows(IOException.class, () -> JsonTree.read("{\"w\":1} {}"));
        assertTrue(trailing.getMessage().startsWith("Trailing token after the JSON value, at line 1 column"), trailing.getMessage());
        IOException nan = assertThrows(IOException.class, () -> JsonTree.read("{\"w\":NaN}"));
        assertTrue(!nan.getMessage().contains("setStrictness"), "the reader's own advice is not the user's: " + nan.getMessage());
        assertThrows(IOException.class, () -> JsonTree.read("{/* c */ \"w\":1}"));
        assertThrows(IOException.class, () -> JsonTree.read("{\"w\":1,}"));
        assertThrows(IOException.class, () -> JsonTree.read("{'w':1}"));
        assertThrows(IOException.class, () -> JsonTree.read("{\"w\":1"));
        assertThrows(IOException.class, () -> JsonTree.read(""));
    }
}
