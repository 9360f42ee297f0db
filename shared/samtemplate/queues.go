package samtemplate

import (
	"fmt"
	"sort"
	"strings"
)

// Queue is an AWS::SQS::Queue's delivery settings (seconds; SQS's defaults
// when the template sets none).
type Queue struct {
	LogicalID         string
	VisibilityTimeout int
	Retention         int
	MaxReceiveCount   int    // 0: no redrive policy
	DeadLetter        string // the redrive target's logical ID
}

// SQSSource is one SQS event of a function, with its queue's settings.
type SQSSource struct {
	Function        string // the function's logical ID
	Event           string
	FunctionTimeout int // seconds
	BatchSize       int
	ResponseTypes   []string // FunctionResponseTypes
	Queue           Queue
}

// SQSSources returns every SQS event source mapping of the template, sorted
// by function and event.
func SQSSources(templatePath string) ([]SQSSource, map[string]Queue, error) {
	var tpl struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				VisibilityTimeout      *int `yaml:"VisibilityTimeout"`
				MessageRetentionPeriod *int `yaml:"MessageRetentionPeriod"`
				RedrivePolicy          struct {
					DeadLetterTargetArn string `yaml:"deadLetterTargetArn"`
					MaxReceiveCount     int    `yaml:"maxReceiveCount"`
				} `yaml:"RedrivePolicy"`
				Events map[string]struct {
					Type       string `yaml:"Type"`
					Properties struct {
						Queue                 string   `yaml:"Queue"`
						BatchSize             int      `yaml:"BatchSize"`
						FunctionResponseTypes []string `yaml:"FunctionResponseTypes"`
					} `yaml:"Properties"`
				} `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := decode(templatePath, &tpl); err != nil {
		return nil, nil, err
	}
	fns, err := FunctionSettings(templatePath)
	if err != nil {
		return nil, nil, err
	}
	queues := map[string]Queue{}
	for id, r := range tpl.Resources {
		if r.Type != "AWS::SQS::Queue" {
			continue
		}
		// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html:
		// VisibilityTimeout defaults to 30 s, MessageRetentionPeriod to 4 days.
		q := Queue{LogicalID: id, VisibilityTimeout: 30, Retention: 345600,
			MaxReceiveCount: r.Properties.RedrivePolicy.MaxReceiveCount,
			DeadLetter:      strings.TrimSuffix(r.Properties.RedrivePolicy.DeadLetterTargetArn, ".Arn")}
		if v := r.Properties.VisibilityTimeout; v != nil {
			q.VisibilityTimeout = *v
		}
		if v := r.Properties.MessageRetentionPeriod; v != nil {
			q.Retention = *v
		}
		queues[id] = q
	}
	var out []SQSSource
	for id, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		for name, ev := range r.Properties.Events {
			if ev.Type != "SQS" {
				continue
			}
			qid := strings.TrimSuffix(ev.Properties.Queue, ".Arn")
			q, ok := queues[qid]
			if !ok {
				return nil, nil, fmt.Errorf("%s.%s: queue %q is not in the template", id, name, ev.Properties.Queue)
			}
			out = append(out, SQSSource{Function: id, Event: name, FunctionTimeout: fns[id].Timeout,
				BatchSize: ev.Properties.BatchSize, ResponseTypes: ev.Properties.FunctionResponseTypes, Queue: q})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Function+"."+out[i].Event < out[j].Function+"."+out[j].Event })
	return out, queues, nil
}

// Alarm is an AWS::CloudWatch::Alarm's metric, trigger and actions.
type Alarm struct {
	LogicalID          string
	Namespace          string
	MetricName         string
	Dimensions         map[string]string // name -> value (a !GetAtt as "Resource.Attribute")
	Threshold          float64
	ComparisonOperator string
	AlarmActions       []string
}

// Alarms returns every CloudWatch alarm of the template by logical ID.
func Alarms(templatePath string) (map[string]Alarm, error) {
	var tpl struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Namespace  string `yaml:"Namespace"`
				MetricName string `yaml:"MetricName"`
				Dimensions []struct {
					Name  string `yaml:"Name"`
					Value string `yaml:"Value"`
				} `yaml:"Dimensions"`
				Threshold          float64  `yaml:"Threshold"`
				ComparisonOperator string   `yaml:"ComparisonOperator"`
				AlarmActions       []string `yaml:"AlarmActions"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := decode(templatePath, &tpl); err != nil {
		return nil, err
	}
	out := map[string]Alarm{}
	for id, r := range tpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		p := r.Properties
		a := Alarm{LogicalID: id, Namespace: p.Namespace, MetricName: p.MetricName, Dimensions: map[string]string{},
			Threshold: p.Threshold, ComparisonOperator: p.ComparisonOperator, AlarmActions: p.AlarmActions}
		for _, d := range p.Dimensions {
			a.Dimensions[d.Name] = d.Value
		}
		out[id] = a
	}
	return out, nil
}
