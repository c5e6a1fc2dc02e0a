package baton

import (
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	batonv1 "github.com/baton-run/baton/sdks/go/gen/baton/v1"
)

// rpcMethods maps every RPC of every baton.v1 service ("Service/Method") to the SDK method
// that calls it, as "Type.Method" where Type is Client or Worker.
var rpcMethods = map[string]string{
	"AdminService/CreateApiKey":    "Client.CreateAPIKey",
	"AdminService/ListApiKeys":     "Client.ListAPIKeys",
	"AdminService/RevokeApiKey":    "Client.RevokeAPIKey",
	"AdminService/ListAuditEvents": "Client.ListAuditEvents",

	"MetadataService/RegisterWorkflowDef": "Client.RegisterWorkflowDef",
	"MetadataService/UpdateWorkflowDef":   "Client.UpdateWorkflowDefs",
	"MetadataService/GetWorkflowDef":      "Client.GetWorkflowDef",
	"MetadataService/ListWorkflowDefs":    "Client.ListWorkflowDefs",
	"MetadataService/DeleteWorkflowDef":   "Client.DeleteWorkflowDef",
	"MetadataService/ValidateWorkflowDef": "Client.ValidateWorkflowDef",
	"MetadataService/RegisterTaskDefs":    "Client.RegisterTaskDefs",
	"MetadataService/GetTaskDef":          "Client.GetTaskDef",
	"MetadataService/ListTaskDefs":        "Client.ListTaskDefs",
	"MetadataService/DeleteTaskDef":       "Client.DeleteTaskDef",
	"MetadataService/AddEventHandler":     "Client.AddEventHandler",
	"MetadataService/UpdateEventHandler":  "Client.UpdateEventHandler",
	"MetadataService/DeleteEventHandler":  "Client.DeleteEventHandler",
	"MetadataService/GetEventHandler":     "Client.GetEventHandler",
	"MetadataService/ListEventHandlers":   "Client.ListEventHandlers",

	"MonitorService/GetOverview":       "Client.GetOverview",
	"MonitorService/GetMetricsHistory": "Client.GetMetricsHistory",

	"ScheduleService/SaveSchedule":       "Client.SaveSchedule",
	"ScheduleService/GetSchedule":        "Client.GetSchedule",
	"ScheduleService/ListSchedules":      "Client.ListSchedules",
	"ScheduleService/DeleteSchedule":     "Client.DeleteSchedule",
	"ScheduleService/PauseSchedule":      "Client.PauseSchedule",
	"ScheduleService/ResumeSchedule":     "Client.ResumeSchedule",
	"ScheduleService/BulkPauseSchedules": "Client.BulkPauseSchedules",
	"ScheduleService/TriggerSchedule":    "Client.TriggerSchedule",
	"ScheduleService/BackfillSchedule":   "Client.BackfillSchedule",
	"ScheduleService/PreviewSchedule":    "Client.PreviewSchedule",
	"ScheduleService/GetScheduleHistory": "Client.GetScheduleHistory",

	"TaskService/Work":            "Worker.Run",
	"TaskService/Poll":            "Client.PollTask",
	"TaskService/BatchPoll":       "Client.BatchPollTasks",
	"TaskService/UpdateTask":      "Client.UpdateTask",
	"TaskService/ExtendLease":     "Client.ExtendLease",
	"TaskService/GetTask":         "Client.GetTask",
	"TaskService/GetTaskLogs":     "Client.GetTaskLogs",
	"TaskService/UpdateTaskByRef": "Client.UpdateTaskByRef",
	"TaskService/AddTaskLogs":     "Client.AddTaskLogs",
	"TaskService/ListQueues":      "Client.ListQueues",
	"TaskService/SearchTasks":     "Client.SearchTasks",
	"TaskService/ListWorkers":     "Client.ListWorkers",

	"WorkflowService/StartWorkflow":                "Client.StartWorkflow",
	"WorkflowService/ExecuteWorkflow":              "Client.ExecuteWorkflow",
	"WorkflowService/WaitWorkflow":                 "Client.WaitWorkflow",
	"WorkflowService/GetWorkflow":                  "Client.GetWorkflow",
	"WorkflowService/GetWorkflowsByCorrelationId":  "Client.GetWorkflowsByCorrelationID",
	"WorkflowService/PauseWorkflow":                "Client.PauseWorkflow",
	"WorkflowService/ResumeWorkflow":               "Client.ResumeWorkflow",
	"WorkflowService/TerminateWorkflow":            "Client.TerminateWorkflow",
	"WorkflowService/RestartWorkflow":              "Client.RestartWorkflow",
	"WorkflowService/RetryWorkflow":                "Client.RetryWorkflow",
	"WorkflowService/RemoveWorkflow":               "Client.RemoveWorkflow",
	"WorkflowService/RerunWorkflow":                "Client.RerunWorkflow",
	"WorkflowService/SkipTask":                     "Client.SkipTask",
	"WorkflowService/ResetCallbacks":               "Client.ResetCallbacks",
	"WorkflowService/DecideWorkflow":               "Client.DecideWorkflow",
	"WorkflowService/ListWorkflowTasks":            "Client.ListWorkflowTasks",
	"WorkflowService/GetRunningWorkflows":          "Client.GetRunningWorkflows",
	"WorkflowService/GetWorkflowsByCorrelationIds": "Client.GetWorkflowsByCorrelationIDs",
	"WorkflowService/RunBulkOperation":             "Client.RunBulkOperation",
	"WorkflowService/SearchWorkflows":              "Client.SearchWorkflows",
	"WorkflowService/ImportWorkflows":              "Client.ImportWorkflows",
	"WorkflowService/GetRetention":                 "Client.GetRetention",
}

// sdkTypes are the types whose methods may stand for an RPC.
var sdkTypes = map[string]reflect.Type{
	"Client": reflect.TypeOf(&Client{}),
	"Worker": reflect.TypeOf(&Worker{}),
}

// missingRPCs returns the RPCs of services that mapping does not map to an existing
// method, one message per RPC.
func missingRPCs(services []protoreflect.ServiceDescriptor, mapping map[string]string) []string {
	var missing []string
	for _, svc := range services {
		methods := svc.Methods()
		for i := 0; i < methods.Len(); i++ {
			rpc := string(svc.Name()) + "/" + string(methods.Get(i).Name())
			target, ok := mapping[rpc]
			if !ok {
				missing = append(missing, rpc+": no SDK method mapped")
				continue
			}
			typeName, method, _ := strings.Cut(target, ".")
			typ, ok := sdkTypes[typeName]
			if !ok {
				missing = append(missing, rpc+": unknown SDK type in "+target)
				continue
			}
			if _, ok := typ.MethodByName(method); !ok {
				missing = append(missing, rpc+": "+target+" does not exist")
			}
		}
	}
	return missing
}

// allServices returns every service of package baton.v1 in the generated descriptors,
// which the generated package registers when it is linked in.
func allServices() []protoreflect.ServiceDescriptor {
	_ = batonv1.File_baton_v1_workflow_proto
	var out []protoreflect.ServiceDescriptor
	protoregistry.GlobalFiles.RangeFilesByPackage("baton.v1", func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Services().Len(); i++ {
			out = append(out, f.Services().Get(i))
		}
		return true
	})
	return out
}

// TestEveryRPCHasAClientMethod fails naming every RPC of package baton.v1 that no SDK method
// calls, so that a new RPC cannot go without one.
func TestEveryRPCHasAClientMethod(t *testing.T) {
	services := allServices()
	if len(services) < 5 {
		t.Fatalf("found only %d services in the descriptors", len(services))
	}
	for _, m := range missingRPCs(services, rpcMethods) {
		t.Error(m)
	}
	// No stale entries: every mapped RPC exists.
	known := map[string]bool{}
	for _, svc := range services {
		for i := 0; i < svc.Methods().Len(); i++ {
			known[string(svc.Name())+"/"+string(svc.Methods().Get(i).Name())] = true
		}
	}
	for rpc := range rpcMethods {
		if !known[rpc] {
			t.Errorf("mapping names %s, which is not an RPC", rpc)
		}
	}
}

// TestParityCheckCatchesAnUnmappedRPC makes sure the check above fails when an RPC has no
// method, or a method that does not exist.
func TestParityCheckCatchesAnUnmappedRPC(t *testing.T) {
	services := allServices()
	partial := make(map[string]string, len(rpcMethods))
	for k, v := range rpcMethods {
		partial[k] = v
	}
	delete(partial, "WorkflowService/SkipTask")
	partial["TaskService/ListQueues"] = "Client.NoSuchMethod"
	got := missingRPCs(services, partial)
	if len(got) != 2 ||
		!strings.Contains(strings.Join(got, "\n"), "WorkflowService/SkipTask") ||
		!strings.Contains(strings.Join(got, "\n"), "TaskService/ListQueues") {
		t.Fatalf("missing RPCs reported: %q", got)
	}
}
