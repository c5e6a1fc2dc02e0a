package io.baton.sdk.internal;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.lang.reflect.Type;
import java.util.LinkedHashMap;
import java.util.Map;

/** Shared object mapper for turning task input and output into typed objects and back. */
public final class Json {
  private static final ObjectMapper MAPPER =
      new ObjectMapper()
          .findAndRegisterModules()
          .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
          .configure(SerializationFeature.FAIL_ON_EMPTY_BEANS, false)
          .configure(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS, false);

  private Json() {}

  /** @return the mapper used for every typed conversion */
  public static ObjectMapper mapper() {
    return MAPPER;
  }

  /**
   * Converts a plain value (maps, lists, strings, numbers) into the given type.
   *
   * @param value the value
   * @param type the target type, possibly generic
   * @param <T> the target type
   * @return the converted value
   */
  public static <T> T convert(Object value, Type type) {
    JavaType jt = MAPPER.getTypeFactory().constructType(type);
    return MAPPER.convertValue(value, jt);
  }

  /**
   * Converts any object to a JSON tree.
   *
   * @param value the value
   * @return its JSON tree
   */
  public static JsonNode tree(Object value) {
    return MAPPER.valueToTree(value);
  }

  /**
   * Parses JSON text describing an object into a map.
   *
   * @param json the text
   * @return the object as a map
   */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> parseObject(String json) {
    try {
      return MAPPER.readValue(json, LinkedHashMap.class);
    } catch (Exception e) {
      throw new IllegalArgumentException("not a JSON object: " + e.getMessage(), e);
    }
  }

  /**
   * Writes a value as JSON text.
   *
   * @param value the value
   * @return JSON text
   */
  public static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (Exception e) {
      throw new IllegalArgumentException("cannot write as JSON: " + e.getMessage(), e);
    }
  }
}
