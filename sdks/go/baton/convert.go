package baton

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	batonv1 "github.com/baton-run/baton/sdks/go/gen/baton/v1"
)

// ToStruct converts a Go value into a protobuf Struct, the wire form of every JSON object
// Baton exchanges (inputs, outputs, definitions).
//
// A nil value gives nil. A *structpb.Struct is returned as is. A map[string]any made of
// plain JSON types is converted directly. Anything else is encoded with encoding/json; if it
// encodes to a JSON object that object is used, otherwise the value is wrapped as
// {"result": value}, the way Conductor workers report non-object outputs.
func ToStruct(v any) (*structpb.Struct, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case *structpb.Struct:
		return x, nil
	case map[string]any:
		if s, err := structpb.NewStruct(x); err == nil {
			return s, nil
		}
	case json.RawMessage:
		return structFromJSON(x)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("baton: encode %T as JSON: %w", v, err)
	}
	return structFromJSON(data)
}

// structFromJSON parses JSON text into a Struct, wrapping non-objects as {"result": v}.
func structFromJSON(data []byte) (*structpb.Struct, error) {
	var decoded any
	if err := json.Unmarshal(data, &decoded); err != nil {
		return nil, fmt.Errorf("baton: decode JSON: %w", err)
	}
	switch d := decoded.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return structpb.NewStruct(d)
	default:
		return structpb.NewStruct(map[string]any{"result": d})
	}
}

// ToMap converts a protobuf Struct into a map of plain JSON values (string, float64, bool,
// nil, []any, map[string]any). A nil Struct gives an empty, non-nil map.
func ToMap(s *structpb.Struct) map[string]any {
	if s == nil {
		return map[string]any{}
	}
	return s.AsMap()
}

// DecodeStruct decodes a protobuf Struct into v (a pointer), through JSON, so that struct
// tags and custom unmarshalers apply as usual.
func DecodeStruct(s *structpb.Struct, v any) error {
	data, err := json.Marshal(ToMap(s))
	if err != nil {
		return fmt.Errorf("baton: encode struct: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("baton: decode into %T: %w", v, err)
	}
	return nil
}

// ScheduleJSON encodes a schedule definition as the JSON text the server takes. def may be
// JSON text (string, []byte or json.RawMessage, sent as is), a [ScheduleDef] or
// *ScheduleDef, a map[string]any, or any value encoding/json encodes as an object.
func ScheduleJSON(def any) (string, error) {
	switch d := def.(type) {
	case nil:
		return "", fmt.Errorf("baton: nil schedule definition")
	case string:
		return d, nil
	case []byte:
		return string(d), nil
	case json.RawMessage:
		return string(d), nil
	case *structpb.Struct:
		def = d.AsMap()
	}
	data, err := json.Marshal(def)
	if err != nil {
		return "", fmt.Errorf("baton: encode schedule definition %T as JSON: %w", def, err)
	}
	return string(data), nil
}

// timeOf converts a Timestamp into a time.Time in UTC; unset gives the zero time.
func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// timestampOf converts a time.Time into a Timestamp; the zero time gives nil (unset).
func timestampOf(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// scheduleFromView converts the wire form of a schedule. A definition the server sent that
// does not decode into [ScheduleDef] is an error; DefinitionJSON keeps the text in any case.
func scheduleFromView(v *batonv1.ScheduleView) (*Schedule, error) {
	if v == nil {
		return nil, fmt.Errorf("baton: the server sent no schedule")
	}
	c := v.GetCounters()
	s := &Schedule{
		Name:           v.GetName(),
		DefinitionJSON: json.RawMessage(v.GetDefinitionJson()),
		Paused:         v.GetPaused(),
		Note:           v.GetNote(),
		NextRun:        timeOf(v.GetNextRunTime()),
		LastFired:      timeOf(v.GetLastFiredTime()),
		Counters: ScheduleCounters{
			Fired: c.GetFired(), Missed: c.GetMissed(), SkippedByOverlap: c.GetSkippedByOverlap(),
			Buffered: c.GetBuffered(), FailedToStart: c.GetFailedToStart(), Succeeded: c.GetSucceeded(),
			Failed: c.GetFailed(), Manual: c.GetManual(), Backfilled: c.GetBackfilled(),
		},
		OpenRuns:            append([]string(nil), v.GetOpenRuns()...),
		Buffered:            v.GetBuffered(),
		ConsecutiveFailures: v.GetConsecutiveFailures(),
		Exhausted:           v.GetExhausted(),
		Revision:            v.GetRevision(),
		Created:             timeOf(v.GetCreateTime()),
		Updated:             timeOf(v.GetUpdateTime()),
		ZoneID:              v.GetZoneId(),
		WorkflowName:        v.GetWorkflowName(),
	}
	if text := v.GetDefinitionJson(); text != "" {
		if err := json.Unmarshal([]byte(text), &s.Definition); err != nil {
			return nil, fmt.Errorf("baton: decode definition of schedule %q: %w", v.GetName(), err)
		}
	}
	return s, nil
}

func schedulesFromViews(vs []*batonv1.ScheduleView) ([]*Schedule, error) {
	out := make([]*Schedule, 0, len(vs))
	for _, v := range vs {
		s, err := scheduleFromView(v)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
