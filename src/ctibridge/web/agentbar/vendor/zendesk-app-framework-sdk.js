// zendesk_app_framework_sdk@2.0.11 (Apache-2.0), bundled by tools/host-sdks: do not edit.
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __commonJS = (cb, mod) => function __require() {
  try {
    return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
  } catch (e) {
    throw mod = 0, e;
  }
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// node_modules/zendesk_app_framework_sdk/lib/vendor/native-promise-only.js
var require_native_promise_only = __commonJS({
  "node_modules/zendesk_app_framework_sdk/lib/vendor/native-promise-only.js"(exports, module) {
    /*! Native Promise Only
        v0.8.0-a (c) Kyle Simpson
        MIT License: http://getify.mit-license.org
    */
    (function UMD(name, context, definition) {
      context[name] = context[name] || definition();
      if (typeof module != "undefined" && module.exports) {
        module.exports = context[name];
      } else if (typeof define == "function" && define.amd) {
        define(function $AMD$() {
          return context[name];
        });
      }
    })("Promise", typeof global != "undefined" ? global : exports, function DEF() {
      "use strict";
      var builtInProp, cycle, scheduling_queue, ToString = Object.prototype.toString, timer = typeof setImmediate != "undefined" ? function timer2(fn) {
        return setImmediate(fn);
      } : setTimeout;
      try {
        Object.defineProperty({}, "x", {});
        builtInProp = function builtInProp2(obj, name, val, config) {
          return Object.defineProperty(obj, name, {
            value: val,
            writable: true,
            configurable: config !== false
          });
        };
      } catch (err) {
        builtInProp = function builtInProp2(obj, name, val) {
          obj[name] = val;
          return obj;
        };
      }
      scheduling_queue = /* @__PURE__ */ (function Queue() {
        var first, last, item;
        function Item(fn, self) {
          this.fn = fn;
          this.self = self;
          this.next = void 0;
        }
        return {
          add: function add(fn, self) {
            item = new Item(fn, self);
            if (last) {
              last.next = item;
            } else {
              first = item;
            }
            last = item;
            item = void 0;
          },
          drain: function drain() {
            var f = first;
            first = last = cycle = void 0;
            while (f) {
              f.fn.call(f.self);
              f = f.next;
            }
          }
        };
      })();
      function schedule(fn, self) {
        scheduling_queue.add(fn, self);
        if (!cycle) {
          cycle = timer(scheduling_queue.drain);
        }
      }
      function isThenable(o) {
        var _then, o_type = typeof o;
        if (o != null && (o_type == "object" || o_type == "function")) {
          _then = o.then;
        }
        return typeof _then == "function" ? _then : false;
      }
      function notify() {
        for (var i = 0; i < this.chain.length; i++) {
          notifyIsolated(
            this,
            this.state === 1 ? this.chain[i].success : this.chain[i].failure,
            this.chain[i]
          );
        }
        this.chain.length = 0;
      }
      function notifyIsolated(self, cb, chain) {
        var ret, _then;
        try {
          if (cb === false) {
            chain.reject(self.msg);
          } else {
            if (cb === true) {
              ret = self.msg;
            } else {
              ret = cb.call(void 0, self.msg);
            }
            if (ret === chain.promise) {
              chain.reject(TypeError("Promise-chain cycle"));
            } else if (_then = isThenable(ret)) {
              _then.call(ret, chain.resolve, chain.reject);
            } else {
              chain.resolve(ret);
            }
          }
        } catch (err) {
          chain.reject(err);
        }
      }
      function resolve(msg) {
        var _then, self = this;
        if (self.triggered) {
          return;
        }
        self.triggered = true;
        if (self.def) {
          self = self.def;
        }
        try {
          if (_then = isThenable(msg)) {
            schedule(function() {
              var def_wrapper = new MakeDefWrapper(self);
              try {
                _then.call(
                  msg,
                  function $resolve$() {
                    resolve.apply(def_wrapper, arguments);
                  },
                  function $reject$() {
                    reject.apply(def_wrapper, arguments);
                  }
                );
              } catch (err) {
                reject.call(def_wrapper, err);
              }
            });
          } else {
            self.msg = msg;
            self.state = 1;
            if (self.chain.length > 0) {
              schedule(notify, self);
            }
          }
        } catch (err) {
          reject.call(new MakeDefWrapper(self), err);
        }
      }
      function reject(msg) {
        var self = this;
        if (self.triggered) {
          return;
        }
        self.triggered = true;
        if (self.def) {
          self = self.def;
        }
        self.msg = msg;
        self.state = 2;
        if (self.chain.length > 0) {
          schedule(notify, self);
        }
      }
      function iteratePromises(Constructor, arr, resolver, rejecter) {
        for (var idx = 0; idx < arr.length; idx++) {
          (function IIFE(idx2) {
            Constructor.resolve(arr[idx2]).then(
              function $resolver$(msg) {
                resolver(idx2, msg);
              },
              rejecter
            );
          })(idx);
        }
      }
      function MakeDefWrapper(self) {
        this.def = self;
        this.triggered = false;
      }
      function MakeDef(self) {
        this.promise = self;
        this.state = 0;
        this.triggered = false;
        this.chain = [];
        this.msg = void 0;
      }
      function Promise2(executor) {
        if (typeof executor != "function") {
          throw TypeError("Not a function");
        }
        if (this.__NPO__ !== 0) {
          throw TypeError("Not a promise");
        }
        this.__NPO__ = 1;
        var def = new MakeDef(this);
        this["then"] = function then(success, failure) {
          var o = {
            success: typeof success == "function" ? success : true,
            failure: typeof failure == "function" ? failure : false
          };
          o.promise = new this.constructor(function extractChain(resolve2, reject2) {
            if (typeof resolve2 != "function" || typeof reject2 != "function") {
              throw TypeError("Not a function");
            }
            o.resolve = resolve2;
            o.reject = reject2;
          });
          def.chain.push(o);
          if (def.state !== 0) {
            schedule(notify, def);
          }
          return o.promise;
        };
        this["catch"] = function $catch$(failure) {
          return this.then(void 0, failure);
        };
        try {
          executor.call(
            void 0,
            function publicResolve(msg) {
              resolve.call(def, msg);
            },
            function publicReject(msg) {
              reject.call(def, msg);
            }
          );
        } catch (err) {
          reject.call(def, err);
        }
      }
      var PromisePrototype = builtInProp(
        {},
        "constructor",
        Promise2,
        /*configurable=*/
        false
      );
      Promise2.prototype = PromisePrototype;
      builtInProp(
        PromisePrototype,
        "__NPO__",
        0,
        /*configurable=*/
        false
      );
      builtInProp(Promise2, "resolve", function Promise$resolve(msg) {
        var Constructor = this;
        if (msg && typeof msg == "object" && msg.__NPO__ === 1) {
          return msg;
        }
        return new Constructor(function executor(resolve2, reject2) {
          if (typeof resolve2 != "function" || typeof reject2 != "function") {
            throw TypeError("Not a function");
          }
          resolve2(msg);
        });
      });
      builtInProp(Promise2, "reject", function Promise$reject(msg) {
        return new this(function executor(resolve2, reject2) {
          if (typeof resolve2 != "function" || typeof reject2 != "function") {
            throw TypeError("Not a function");
          }
          reject2(msg);
        });
      });
      builtInProp(Promise2, "all", function Promise$all(arr) {
        var Constructor = this;
        if (ToString.call(arr) != "[object Array]") {
          return Constructor.reject(TypeError("Not an array"));
        }
        if (arr.length === 0) {
          return Constructor.resolve([]);
        }
        return new Constructor(function executor(resolve2, reject2) {
          if (typeof resolve2 != "function" || typeof reject2 != "function") {
            throw TypeError("Not a function");
          }
          var len = arr.length, msgs = Array(len), count = 0;
          iteratePromises(Constructor, arr, function resolver(idx, msg) {
            msgs[idx] = msg;
            if (++count === len) {
              resolve2(msgs);
            }
          }, reject2);
        });
      });
      builtInProp(Promise2, "race", function Promise$race(arr) {
        var Constructor = this;
        if (ToString.call(arr) != "[object Array]") {
          return Constructor.reject(TypeError("Not an array"));
        }
        return new Constructor(function executor(resolve2, reject2) {
          if (typeof resolve2 != "function" || typeof reject2 != "function") {
            throw TypeError("Not a function");
          }
          iteratePromises(Constructor, arr, function resolver(idx, msg) {
            resolve2(msg);
          }, reject2);
        });
      });
      return Promise2;
    });
  }
});

// node_modules/zendesk_app_framework_sdk/lib/utils.js
var require_utils = __commonJS({
  "node_modules/zendesk_app_framework_sdk/lib/utils.js"(exports, module) {
    var Promise2 = window.Promise || require_native_promise_only();
    function isObject(obj) {
      return obj !== null && typeof obj === "object";
    }
    function decode(s) {
      return decodeURIComponent((s || "").replace(/\+/g, " "));
    }
    function queryParameters(queryString) {
      var result = {}, keyValuePairs, keyAndValue, key, value;
      queryString = queryString || (document.location.search || "").slice(1);
      if (queryString.length === 0) {
        return result;
      }
      keyValuePairs = queryString.split("&");
      for (var i = 0; i < keyValuePairs.length; i++) {
        keyAndValue = keyValuePairs[i].split("=");
        key = decode(keyAndValue[0]);
        value = decode(keyAndValue[1]) || "";
        result[key] = value;
      }
      return result;
    }
    function isPromise(obj) {
      return obj instanceof Promise2 || !!obj && obj.then && typeof obj.then === "function";
    }
    function shouldReject(val) {
      return val === false || val instanceof Error || typeof val === "string";
    }
    function isString(key) {
      return typeof key === "string";
    }
    function when(items) {
      items = items || [];
      var resolveAll, rejectAll, allResolvedPromise = new Promise2(function(resolve, reject) {
        resolveAll = resolve;
        rejectAll = reject;
      });
      var remaining = 0, settledWith = [], itemsCopy = Array.isArray(items) ? items.slice() : [items];
      var resolveWith = function(data, index) {
        settledWith[index] = data;
        if (--remaining <= 0) {
          resolveAll(settledWith);
        }
      };
      remaining = itemsCopy.length;
      if (remaining <= 0) {
        resolveAll();
        return allResolvedPromise;
      }
      itemsCopy.forEach(function(item, index) {
        var promise;
        if (isPromise(item)) {
          promise = item;
        } else if (typeof item === "function") {
          var res;
          try {
            res = item();
            if (isPromise(res)) {
              promise = res;
            } else if (shouldReject(res)) {
              promise = Promise2.reject(res);
            } else {
              promise = Promise2.resolve(res);
            }
          } catch (err) {
            promise = Promise2.reject(err);
          }
        } else {
          promise = new Promise2(function(resolve, reject) {
            shouldReject(item) ? reject(item) : resolve(item);
          });
        }
        promise.then(
          function(data) {
            resolveWith(data, index);
          }
        ).catch(rejectAll.bind(rejectAll));
      });
      return allResolvedPromise;
    }
    module.exports = {
      queryParameters,
      when,
      isString,
      isObject
    };
  }
});

// node_modules/zendesk_app_framework_sdk/lib/client.js
var require_client = __commonJS({
  "node_modules/zendesk_app_framework_sdk/lib/client.js"(exports, module) {
    var PROMISE_TIMEOUT = 5e3;
    var PROMISE_DONT_TIMEOUT = ["instances.create"];
    var ZAF_EVENT = /^zaf\./;
    var version = "2.0.9";
    var Utils = require_utils();
    var Promise2 = window.Promise || require_native_promise_only();
    var pendingPromises = {};
    var ids = {};
    function timeoutReject(reject, name, paramsArray) {
      switch (name) {
        case "invoke": {
          var matches = paramsArray.filter(function(action) {
            return PROMISE_DONT_TIMEOUT.indexOf(action) !== -1;
          });
          var allWhitelisted = matches.length === paramsArray.length;
          if (allWhitelisted) {
            return NaN;
          } else {
            var notAllWhitelisted = matches.length !== 0;
            if (notAllWhitelisted) {
              throw new Error("Illegal bulk call - `instances.create` must be called separately.");
            }
            return defaultTimer(reject, name, paramsArray);
          }
        }
        default: {
          return defaultTimer(reject, name, paramsArray);
        }
      }
    }
    function TimeoutError(name, paramsArray) {
      this.name = "TimeoutError";
      this.message = 'Timeout when invoking "' + name + '"';
      this.invocationName = name;
      this.paramsArray = paramsArray;
    }
    function defaultTimer(callback, name, paramsArray) {
      return setTimeout(function() {
        callback(new TimeoutError(name, paramsArray));
      }, PROMISE_TIMEOUT);
    }
    function nextIdFor(name) {
      if (isNaN(ids[name])) {
        ids[name] = 0;
      }
      return ++ids[name];
    }
    function rawPostMessage(client, msg, forceReady) {
      if (client.ready || forceReady) {
        client._source.postMessage(msg, client._origin);
      } else {
        client.on("app.registered", rawPostMessage.bind(null, client, msg));
      }
    }
    function wrappedPostMessage(name, params) {
      var id = nextIdFor("promise"), timeoutId;
      var promise = new Promise2(function(resolve, reject) {
        timeoutId = timeoutReject(reject, name, Array.isArray(params) ? params : Object.keys(params));
        pendingPromises[id] = { resolve, reject };
        var msg = JSON.stringify({
          id,
          request: name,
          params,
          appGuid: this._appGuid,
          instanceGuid: this._instanceGuid
        });
        rawPostMessage(this, msg);
      }.bind(this));
      return promise.then(removePromise.bind(null, id, timeoutId), removePromise.bind(null, id, timeoutId));
    }
    function createError(error) {
      if (error.path) {
        error.message = '"' + error.path + '" ' + error.message;
      }
      var err = new Error(error.message);
      err.name = error.name;
      err.stack = error.stack;
      return err;
    }
    function removePromise(id, timeoutId, args) {
      clearTimeout(timeoutId);
      delete pendingPromises[id];
      if (args instanceof Error) throw args;
      return args;
    }
    function isValidEvent(client, event) {
      return client && client._origin === event.origin && client._source === event.source;
    }
    function triggerEvent(client, eventName, data) {
      if (!client._messageHandlers[eventName]) {
        return false;
      }
      client._messageHandlers[eventName].forEach(function(handler) {
        handler(data);
      });
    }
    function finalizePendingPromise(pendingPromise, data) {
      if (data.error) {
        var error = data.error.name ? createError(data.error) : data.error;
        pendingPromise.reject(error);
      } else {
        pendingPromise.resolve(data.result);
      }
    }
    function postReplyWith(client, key, msg) {
      if (client._repliesPending[key]) {
        return;
      }
      msg.key = "iframe.reply:" + key;
      client._repliesPending[key] = true;
      return Utils.when(client._messageHandlers[key]).then(
        rawPostMessage.bind(null, client, msg)
      ).catch(function(reason) {
        var rejectMessage = reason instanceof Error ? reason.message : reason;
        msg.error = {
          msg: rejectMessage
        };
        rawPostMessage(client, msg);
      }).then(function() {
        delete client._repliesPending[key];
      });
    }
    function getMessageRecipient(client, recipientGuid) {
      var messageRecipient = client;
      if (recipientGuid && recipientGuid !== client._instanceGuid) {
        messageRecipient = client._instanceClients[recipientGuid];
        if (!messageRecipient) {
          throw Error("[ZAF SDK] Could not find client for instance " + recipientGuid);
        }
      }
      return messageRecipient;
    }
    function messageHandler(client, event) {
      if (!isValidEvent(client, event)) {
        return;
      }
      var data = event.data;
      if (!data) {
        return;
      }
      if (typeof data === "string") {
        try {
          data = JSON.parse(event.data);
        } catch (e) {
          return e;
        }
      }
      var clientRecipient = getMessageRecipient(client, data.instanceGuid), pendingPromise;
      if (data.id && (pendingPromise = pendingPromises[data.id])) {
        finalizePendingPromise(pendingPromise, data);
      } else if (ZAF_EVENT.test(data.key)) {
        var key = data.key.replace(ZAF_EVENT, ""), msg = { appGuid: client._appGuid };
        if (data.needsReply) {
          return postReplyWith(clientRecipient, key, msg);
        } else {
          triggerEvent(clientRecipient, key, data.message);
        }
      }
    }
    function processResponse(path, result) {
      var isSingularOperation = typeof path === "string";
      if (!isSingularOperation) {
        return result;
      }
      var err = result.errors && result.errors[path];
      if (err) {
        throw createError(err);
      }
      return result;
    }
    var Client = function(options) {
      this._parent = options.parent;
      this._origin = options.origin || this._parent && this._parent._origin;
      this._source = options.source || this._parent && this._parent._source || window.parent;
      this._appGuid = options.appGuid || this._parent && this._parent._appGuid;
      this._instanceGuid = options.instanceGuid || this._appGuid;
      this._messageHandlers = {};
      this._repliesPending = {};
      this._instanceClients = {};
      this._metadata = null;
      this._context = options.context || null;
      this.ready = false;
      this.on("app.registered", function(data) {
        this.ready = true;
        this._metadata = data.metadata;
        this._context = data.context;
      }, this);
      this.on("context.updated", function(context) {
        this._context = context;
      }, this);
      if (this._parent) {
        this.ready = this._parent.ready;
        return this;
      }
      window.addEventListener("message", messageHandler.bind(null, this));
      this.postMessage("iframe.handshake", { version });
    };
    Client.prototype = {
      /// ### Client Object
      ///
      /// #### client.postMessage(name, [data])
      ///
      /// Allows you to send message events to the Zendesk app.
      ///
      /// ##### Arguments
      ///
      ///   * `name` the name of the message event. This determines the name of the iframe
      ///     event your app will receive. For example, if you set this to 'hello', your app will receive
      ///     the event 'iframe.hello'
      ///   * `data` (optional) a JSON object with any data that you want to pass along with the
      ///     event
      ///
      /// ```javascript
      /// var client = ZAFClient.init();
      /// client.postMessage('hello', { awesome: true });
      /// ```
      postMessage: function(name, data) {
        var msg = JSON.stringify({ key: name, message: data, appGuid: this._appGuid, instanceGuid: this._instanceGuid });
        rawPostMessage(this, msg, name === "iframe.handshake");
      },
      /// #### client.on(name, handler, [context])
      ///
      /// Allows you to add handlers to a framework event. You can add as many handler as you wish.
      /// They will be executed in the order they were added.
      ///
      /// ##### Arguments
      ///
      ///   * `name` the name of the framework event you want to listen to. This can be
      ///     [framework](./events.html#framework-events), [request](./events.html#request-events), or
      ///     [custom](./events.html#custom-events) events. Your iframe can listen to any events your app
      ///     receives, apart from DOM events. You don't need to register these events in the app first
      ///   * `handler` a function to be called when this event fires. You can expect to receive the same
      ///     event object your app would receive, parsed as JSON
      ///   * `context` (optional) the value of `this` within your handler
      ///
      /// ```javascript
      /// var client = ZAFClient.init();
      /// client.on('app.registered', function(e) {
      ///   // go nuts
      /// });
      /// ```
      ///
      /// Note: As soon as communication with the Zendesk app is established, the SDK triggers an
      /// `app.registered` event. You can add as many handlers to `app.registered` as you like. They're
      /// called immediately after the `init` callback.
      on: function(name, handler, context) {
        if (typeof handler == "function") {
          handler = context ? handler.bind(context) : handler;
          this._messageHandlers[name] = this._messageHandlers[name] || [];
          this._messageHandlers[name].push(handler);
          if (name !== "app.registered") {
            this.postMessage("iframe.on:" + name, { subscriberCount: this._messageHandlers[name].length });
          }
        }
      },
      /// #### client.off(name, handler)
      ///
      /// Allows you to remove a handler for a framework event.
      ///
      /// ##### Arguments
      ///
      ///   * `name` the name of the event
      ///   * `handler` the function you attached earlier with `on`
      ///
      /// ```javascript
      /// var client = ZAFClient.init();
      ///
      /// client.on('app.registered', function appRegistered(e) {
      ///   // do stuff then remove the handler
      ///   client.off('app.registered', appRegistered);
      /// });
      /// ```
      off: function(name, handler) {
        if (!this._messageHandlers[name]) {
          return false;
        }
        var index = this._messageHandlers[name].indexOf(handler);
        if (this.has(name, handler)) {
          this._messageHandlers[name].splice(index, 1);
        }
        this.postMessage("iframe.off:" + name, { subscriberCount: this._messageHandlers[name].length });
        return handler;
      },
      /// #### client.has(name, handler)
      ///
      /// Returns whether or not an event has the specified handler attached to it.
      ///
      /// ##### Arguments
      ///
      ///   * `name` the name of the event
      ///   * `handler` the handler you want to test
      ///
      /// ```javascript
      /// var client = ZAFClient.init();
      ///
      /// client.on('app.registered', function appRegistered(e) {
      ///   // do stuff
      /// });
      ///
      /// client.has('app.registered', appRegistered); // true
      /// client.has('app.activated', appRegistered); // false
      /// ```
      has: function(name, handler) {
        if (!this._messageHandlers[name]) {
          return false;
        }
        return this._messageHandlers[name].indexOf(handler) !== -1;
      },
      /// #### client.trigger(name, [data])
      ///
      /// Triggers the specified event on the client.
      ///
      /// ##### Arguments
      ///
      ///   * `name` the name of the event you want to trigger
      ///   * `data` (optional) data you want to pass to the handler
      ///
      /// ```javascript
      /// var client = ZAFClient.init();
      ///
      /// client.on('activation', function {
      ///   console.log('activating!')
      /// });
      ///
      /// client.trigger('activation') // activating!
      /// ```
      trigger: function(name, data) {
        this.postMessage("iframe.trigger:" + name, data);
      },
      /// #### client.request(options)
      ///
      /// Dispatch [requests](./requests) via the Zendesk app.
      ///
      /// ##### Arguments
      ///
      ///   * `options` the url of the request or an options object containing a url key/value
      ///
      /// ##### Returns
      ///
      /// A [Promises/A+](https://promisesaplus.com) conformant `promise` object.
      ///
      /// ```javascript
      /// var client = ZAFClient.init();
      ///
      /// client.request('/api/v2/tickets.json').then(
      ///   function(tickets) {
      ///     console.log(tickets);
      ///   },
      ///   function(response) {
      ///     console.error(response.responseText);
      ///   }
      /// );
      /// ```
      request: function(options) {
        if (this._parent) {
          return this._parent.request(options);
        }
        var requestKey = "request:" + nextIdFor("request");
        return new Promise2(function(resolve, reject) {
          if (typeof options === "string") {
            options = { url: options };
          }
          this.on(requestKey + ".done", function(evt) {
            resolve.apply(this, evt.responseArgs);
          });
          this.on(requestKey + ".fail", function(evt) {
            reject.apply(this, evt.responseArgs);
          });
          this.postMessage(requestKey, options);
        }.bind(this));
      },
      instance: function(instanceGuid) {
        if (!instanceGuid || typeof instanceGuid !== "string") {
          throw new Error("The instance method expects an `instanceGuid` string.");
        }
        if (instanceGuid === this._instanceGuid) {
          return this;
        }
        if (this._parent) {
          return this._parent.instance(instanceGuid);
        }
        var instanceClient = this._instanceClients[instanceGuid];
        if (!instanceClient) {
          instanceClient = new Client({
            parent: this,
            instanceGuid
          });
          this._instanceClients[instanceGuid] = instanceClient;
        }
        return instanceClient;
      },
      metadata: function() {
        if (this._parent) {
          return this._parent.metadata();
        }
        return new Promise2(function(resolve) {
          if (this._metadata) {
            resolve(this._metadata);
          } else {
            this.on("app.registered", function() {
              resolve(this._metadata);
            }.bind(this));
          }
        }.bind(this));
      },
      context: function() {
        if (this._context) {
          return Promise2.resolve(this._context);
        } else {
          if (this._instanceGuid && this._instanceGuid != this._appGuid) {
            var key = "instances." + this._instanceGuid;
            return this.get(key).then(function(data) {
              this._context = data[key];
              return this._context;
            }.bind(this));
          } else {
            return new Promise2(function(resolve) {
              this.on("app.registered", function(data) {
                resolve(data.context);
              });
            }.bind(this));
          }
        }
      },
      // Accepts string or array of strings.
      get: function(path) {
        var paths = Array.isArray(path) ? path : [path];
        if (arguments.length > 1 || paths.some(function(path2) {
          return !Utils.isString(path2);
        })) {
          throw new Error("The get method accepts a string or array of strings.");
        }
        return wrappedPostMessage.call(this, "get", paths).then(processResponse.bind(null, path));
      },
      set: function(key, val) {
        var obj = key;
        if (typeof key === "string") {
          if (arguments.length === 1) {
            throw new Error("The setter requires a value");
          }
          obj = {};
          obj[key] = val;
        }
        if (!Utils.isObject(obj) || Array.isArray(obj)) {
          throw new Error("The set method accepts a key and value pair, or an object of key and value pairs.");
        }
        return wrappedPostMessage.call(this, "set", obj).then(processResponse.bind(null, key));
      },
      invoke: function(keyOrObject) {
        var obj = {};
        if (typeof keyOrObject === "string") {
          obj[keyOrObject] = Array.prototype.slice.call(arguments, 1);
        } else if (typeof keyOrObject === "object") {
          Object.keys(keyOrObject).forEach(function(key) {
            var methodArgs = keyOrObject[key];
            if (!Array.isArray(methodArgs) || methodArgs.some(function(arg) {
              return !Utils.isString(arg);
            })) {
              throw new Error("Invoke supports string arguments or an object with array of strings.");
            }
          });
          obj = keyOrObject;
        } else {
          throw new Error("Invoke supports string arguments or an object with array of strings.");
        }
        return wrappedPostMessage.call(this, "invoke", obj).then(processResponse.bind(null, keyOrObject));
      }
    };
    module.exports = Client;
  }
});

// node_modules/zendesk_app_framework_sdk/lib/index.js
var require_lib = __commonJS({
  "node_modules/zendesk_app_framework_sdk/lib/index.js"(exports, module) {
    var Client = require_client();
    var Utils = require_utils();
    var ZAFClient = {};
    ZAFClient.init = function(callback) {
      var queryParams = Utils.queryParameters(), hashParams = Utils.queryParameters((document.location.hash || "").slice(1)), origin = queryParams.origin || hashParams.origin, app_guid = queryParams.app_guid || hashParams.app_guid, client;
      if (!origin || !app_guid) {
        return false;
      }
      client = new Client({ origin, appGuid: app_guid });
      if (typeof callback === "function") {
        client.on("app.registered", callback.bind(client));
      }
      return client;
    };
    module.exports = ZAFClient;
  }
});

// entries/zendesk.js
var import_zendesk_app_framework_sdk = __toESM(require_lib());
var export_ZAFClient = import_zendesk_app_framework_sdk.default;
export {
  export_ZAFClient as ZAFClient
};
