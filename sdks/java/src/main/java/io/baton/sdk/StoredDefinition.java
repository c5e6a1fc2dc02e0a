package io.baton.sdk;

import io.baton.v1.TaskDefInfo;
import io.baton.v1.WorkflowDefInfo;
import java.time.Instant;
import java.util.Map;

/**
 * A workflow or task definition as stored by the server.
 *
 * @param name the definition name
 * @param version the version (0 for task definitions, which are not versioned)
 * @param description the description, if any
 * @param createTime when it was first stored
 * @param updateTime when it was last replaced, or null
 * @param definition the full definition in Conductor's JSON DSL
 */
public record StoredDefinition(
    String name,
    int version,
    String description,
    Instant createTime,
    Instant updateTime,
    Map<String, Object> definition) {

  static StoredDefinition from(WorkflowDefInfo w) {
    return new StoredDefinition(
        w.getName(),
        w.getVersion(),
        w.getDescription(),
        Structs.toInstant(w.getCreateTime()),
        Structs.toInstant(w.getUpdateTime()),
        Structs.toMap(w.getDefinition()));
  }

  static StoredDefinition from(TaskDefInfo t) {
    Map<String, Object> def = Structs.toMap(t.getDefinition());
    Object desc = def.get("description");
    return new StoredDefinition(
        t.getName(),
        0,
        desc == null ? "" : desc.toString(),
        Structs.toInstant(t.getCreateTime()),
        Structs.toInstant(t.getUpdateTime()),
        def);
  }
}
