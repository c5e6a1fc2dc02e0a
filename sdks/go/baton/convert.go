package baton

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"
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
